"""E-mail addresses: trimmed, lower-case, lists split, common obfuscation undone, syntax checked
with email-validator. An address that is not valid is kept aside, never guessed."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

_SPLIT = re.compile(r"[;,/\s]+")
_UNOBFUSCATE = ((re.compile(r"\s*[\[(]\s*at\s*[\])]\s*", re.I), "@"), (re.compile(r"\s*[\[(]\s*dot\s*[\])]\s*", re.I), "."))
_MAILTO = re.compile(r"mailto:", re.I)


def normalize_email(text: str | None) -> str | None:
    """One address, normalized, or None when it is not a valid address."""
    candidate = (text or "").strip().strip("<>\"'").lower()
    if not candidate:
        return None
    try:
        return validate_email(candidate, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def split_emails(text: str | None) -> tuple[list[str], list[str]]:
    """(valid addresses without duplicates in order of appearance, the pieces that are not valid)."""
    cleaned = _MAILTO.sub(" ", text or "")
    for pattern, replacement in _UNOBFUSCATE:
        cleaned = pattern.sub(replacement, cleaned)
    valid: list[str] = []
    invalid: list[str] = []
    for piece in filter(None, _SPLIT.split(cleaned)):
        address = normalize_email(piece)
        if address is None:
            invalid.append(piece)
        elif address not in valid:
            valid.append(address)
    return valid, invalid
