"""E-mail addresses: trimmed, lower-case, lists split, common obfuscation undone, syntax checked
with email-validator. An address that is not valid is kept aside, never guessed."""

from __future__ import annotations

import functools
import re

import email_validator
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import (DNS_LABEL_LENGTH_LIMIT, DOMAIN_NAME_REGEX, DOT_ATOM_TEXT_HOSTNAME,
                                           EMAIL_MAX_LENGTH)

_SPLIT = re.compile(r"[;,/\s]+")
# Each with the characters it cannot match without: most cells have none of them, and are not scanned.
_UNOBFUSCATE = (
    (re.compile(r"\s*[\[(]\s*at\s*[\])]\s*", re.I), "@", "[("),
    (re.compile(r"\s*[\[(]\s*dot\s*[\])]\s*", re.I), ".", "[("),
    (re.compile(r"mailto:([^\s?;,]*)(\?\S*)?", re.I), r" \1 ", ":"),   # "mailto:a@b.vn?subject=…"
    (re.compile(r"[^<>;,\n]*<([^<>@\s]+@[^<>\s]+)>"), r" \1 ", "<"),    # "Nguyễn Văn A <a@b.vn>"
)
_SPACE = re.compile(r"\s")  # the characters str.isspace() calls spaces, every one of them
_EDGE = "<>\"'()[]{}.:"  # quotes, brackets and sentence punctuation around an address


def _clean(text: str) -> str:
    for pattern, replacement, needs in _UNOBFUSCATE:
        if any(c in text for c in needs):
            text = pattern.sub(replacement, text)
    return text


def normalize_email(text: str | None) -> str | None:
    """One address, normalized (lower-case, obfuscation undone), or None when it is not valid."""
    return _validated(_clean(text or ""))


def _validated(text: str) -> str | None:
    candidate = text.strip().strip(_EDGE).lower()
    if not candidate or _SPACE.search(candidate):
        return None
    # Most addresses are a plain ASCII local part at a domain many other addresses share: the
    # domain's checks (IDNA, special-use names, label rules: most of email-validator's time) are
    # made once per domain. The answer is email-validator's own, whichever way it is reached.
    local, _, domain = candidate.partition("@")
    if not local or not domain:
        return None  # no @, or nothing before or after it ("a @ b.vn" leaves a lone "@"): never valid
    if "@" not in domain and _ASCII_LOCAL.match(local):
        forms = _domain_forms(domain)
        if forms is None:
            return None  # the domain alone makes the address invalid
        if len(local) + 1 + max(len(form.encode()) for form in (domain, *forms)) <= _MAX_LENGTH:
            return f"{local}@{forms[0]}".lower()
    try:
        return validate_email(candidate, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


# email-validator's unquoted ASCII local part (RFC 5322 dot-atom), lower case: kept as it is written.
_ASCII_LOCAL = re.compile(r"[a-z0-9_!#$%&'*+\-/=?^`{|}~]+(?:\.[a-z0-9_!#$%&'*+\-/=?^`{|}~]+)*\Z")
_MAX_LENGTH = 254  # bytes, the address as written, normalized and in IDNA ASCII (RFC 3696 errata)


@functools.lru_cache(maxsize=1 << 14)  # the common providers stay; each company's own domain passes
def _domain_forms(domain: str) -> tuple[str, str] | None:
    """(normalized, IDNA ASCII) forms of an address's domain as email-validator finds them; None if invalid."""
    if _LDH.match(domain):
        forms = _ldh_domain_forms(domain)
        if forms is not _ASK_EMAIL_VALIDATOR:
            return forms
    try:
        checked = validate_email("a@" + domain, check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.domain, checked.ascii_domain


_LDH = re.compile(r"[A-Za-z0-9.\-]+\Z")  # ASCII letters, digits, hyphens and dots only
_ASK_EMAIL_VALIDATOR = object()


def _ldh_domain_forms(domain: str) -> tuple[str, str] | None | object:
    """email-validator's verdict on "a@" + `domain` for a domain of ASCII letters, digits, hyphens
    and dots, without its Unicode steps (which change nothing in such a domain but its capitals),
    with its own constants and in the order of its checks (`syntax.validate_email_domain_name`,
    then the address's length); _ASK_EMAIL_VALIDATOR for what is left to it: Punycode labels
    (decoded and checked as IDNA) and settings other than its defaults."""
    domain = domain.lower()  # UTS-46 mapping: ASCII capitals to small letters, the rest unchanged
    if "xn--" in domain or email_validator.TEST_ENVIRONMENT or not email_validator.GLOBALLY_DELIVERABLE:
        return _ASK_EMAIL_VALIDATOR
    # Labels of letters and digits with hyphens inside only, none empty (check_dot_atom: no dot or
    # hyphen at either end, no two dots, no dot beside a hyphen).
    if not DOT_ATOM_TEXT_HOSTNAME.match(domain):
        return None
    for label in domain.split("."):
        # RFC 5890's reserved R-LDH labels ("ab--…", Punycode aside), and RFC 1035's label length.
        if label[2:4] == "--" and label[:2] != "xn" or len(label) > DNS_LABEL_LENGTH_LIMIT:
            return None
    # A dot, and a top-level domain ending with a letter (globally deliverable).
    if "." not in domain or not DOMAIN_NAME_REGEX.search(domain):
        return None
    if any(domain == name or domain.endswith("." + name) for name in email_validator.SPECIAL_USE_DOMAIN_NAMES):
        return None
    # The address "a@" + domain within EMAIL_MAX_LENGTH octets (which keeps the domain within
    # DOMAIN_MAX_LENGTH): the length email-validator checks last.
    if 2 + len(domain) > EMAIL_MAX_LENGTH:
        return None
    return domain, domain


def split_emails(text: str | None) -> tuple[list[str], list[str]]:
    """(valid addresses without duplicates in order of appearance, the pieces that are not valid)."""
    valid: list[str] = []
    invalid: list[str] = []
    for piece in _SPLIT.split(_clean(text or "")):
        piece = piece.strip(_EDGE)
        if not piece:
            continue
        address = _validated(piece)  # the whole text is cleaned already
        if address is None:
            invalid.append(piece)
        elif address not in valid:
            valid.append(address)
    return valid, invalid
