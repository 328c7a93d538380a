"""E-mail addresses: lists, obfuscation, validation; invalid ones aside, never guessed."""

import random

import pytest
from email_validator import EmailNotValidError, validate_email

from shared.domain.emails import normalize_email, split_emails


def test_lists_split_normalize_and_keep_the_invalid_aside():
    valid, invalid = split_emails("KeToan@SGX.vn; sai@@x, info[at]godongnai.vn / mailto:A@b.vn a@b.vn x (at) y (dot) com")
    assert valid == ["ketoan@sgx.vn", "info@godongnai.vn", "a@b.vn", "x@y.com"]
    assert invalid == ["sai@@x"]


def test_an_address_without_a_domain_is_not_guessed():
    assert normalize_email("ketoan@") is None
    assert normalize_email("ketoan.gmail.com") is None
    assert split_emails(None) == ([], [])


@pytest.mark.parametrize("written, address", [
    ("<a@b.vn>", "a@b.vn"), ("a [at] b [dot] vn", "a@b.vn"), ("a(at)b.vn", "a@b.vn"), ("A@B.VN.", "a@b.vn"),
    ("mailto:a@b.vn?subject=x", "a@b.vn"), (" KeToan@SGX.VN ", "ketoan@sgx.vn"),
])
def test_one_address(written, address):
    assert normalize_email(written) == address


@pytest.mark.parametrize("written", ["a at b.vn", "a@b", "a@gmail..com", "", None, "a@b.vn b@c.vn"])
def test_not_one_valid_address(written):
    assert normalize_email(written) is None


def test_display_names_and_duplicates():
    assert split_emails("Nguyễn Văn A <a@b.vn>, B <c@d.vn>; A@b.vn") == (["a@b.vn", "c@d.vn"], [])
    assert split_emails("a at b.vn") == ([], ["a", "at", "b.vn"])   # unbracketed "at" is not undone: no guess


def _reference(text: str) -> str | None:
    """email-validator called on every address, as careflow did before the per-domain fast path."""
    candidate = text.strip().strip("<>\"'()[]{}.:").lower()
    if not candidate or any(c.isspace() for c in candidate):
        return None
    try:
        return validate_email(candidate, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def _generated_addresses(n: int, seed: int = 17) -> list[str]:
    rng = random.Random(seed)
    locals_ = ["ketoan", "info", "Sales", "a.b", ".a", "a.", "a..b", "nguyễn", "a+tag", "a_b-c", "x" * 64, "x" * 65,
               '"quoted"', '"a b"', "a!#$%&'*+/=?^`{|}~", "", "POSTMASTER", "a,b", "a(b)", "ê", "a\u0301"]
    domains = ["gmail.com", "yahoo.com.vn", "congty1.com.vn", "GMAIL.COM", "vnn.vn", "localhost", "a.local",
               "example.test", "bưuđiện.vn", "xn--bcher-kva.com", "-bad.vn", "bad-.vn", "a..vn", "vn", "a.123",
               "[127.0.0.1]", "a_b.vn", "", "d" * 63 + ".vn", "d" * 64 + ".vn", ".".join(["d" * 60] * 4) + ".vn",
               "ví-dụ.việt.nam", "a.b.c.d.e.f.g.vn", "mail.com.", "xn--.vn", "1.2.3.4"]
    out = []
    for _ in range(n):
        local = rng.choice(locals_) + rng.choice(["", str(rng.randrange(1000)), "." + str(rng.randrange(10))])
        domain = rng.choice(domains)
        roll = rng.random()
        if roll < 0.05:
            local = "l" * rng.randrange(150, 200)  # around the 254-byte limit with the long domains
        elif roll < 0.08:
            out.append(local + "@" + domain + "@" + rng.choice(domains))
            continue
        elif roll < 0.10:
            out.append(local + domain)  # no @ at all
            continue
        out.append(f"{local}@{domain}")
    return out


def test_the_fast_path_answers_as_email_validator_does_for_every_address():
    addresses = _generated_addresses(5_000)
    # Every kind appears: valid and invalid, each way.
    answers = [(normalize_email(address), _reference(address)) for address in addresses]
    assert sum(1 for ours, _ in answers if ours) > 750 and sum(1 for ours, _ in answers if ours is None) > 750
    assert [ours for ours, _ in answers] == [reference for _, reference in answers]


def _validator_domain_forms(domain: str) -> tuple[str, str] | None:
    try:
        checked = validate_email("a@" + domain, check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.domain, checked.ascii_domain


def _generated_ldh_domains(seed: int = 29) -> list[str]:
    """Domains of ASCII letters, digits, hyphens and dots: valid ones and every invalid shape."""
    import email_validator

    rng = random.Random(seed)
    letters, digits = "abcdefghijklmnopqrstuvwxyz", "0123456789"

    def label(length: int, alphabet: str = letters + digits + "-") -> str:
        if length <= 2:
            return "".join(rng.choice(letters + digits) for _ in range(length))
        return rng.choice(letters + digits) + "".join(rng.choice(alphabet) for _ in range(length - 2)) + \
            rng.choice(letters + digits)

    tlds = ["vn", "com", "org", "io", "x", "com1", "123", "1", "v1n", "a-b", "xn--p1ai", "local", "localhost",
            "test", "invalid", "onion", "arpa", "example", "VN", "Com", "-vn", "vn-", "a--b", "ab--c", "xn--"]
    special = list(email_validator.SPECIAL_USE_DOMAIN_NAMES)
    domains = {"gmail.com", "yahoo.com.vn", "vnn.vn", "vn", "com", ".vn", "vn.", "a..vn", "-a.vn", "a-.vn",
               "a.-b.vn", "a-.b.vn", "a.b-.vn", "ab--cd.vn", "xn--ab.vn", "XN--ab.vn", "a.xn--", "Ab--cd.vn",
               "aB--cd.vn", "ab-cd.vn", "a--b.vn", "ab--.vn", "--ab.vn", "1.2.3.4", "123.456", "a.123", "a.1b",
               "a.b1", "GMAIL.COM", "Mail.Example.VN", "a", "-", ".", "..", "a.", ".a", "a.b.", "a-b.c-d.e-f",
               "localhost", "a.localhost", "localhost.vn", "local.vn", "a.local", "mylocal", "a.mylocal",
               "a.test", "test.vn", "atest", "a.atest", "a.onion", "onion.a", "a.arpa", "in-addr.arpa",
               "a.invalid", "a.example", "example.com", "a.LOCAL", "a.Test"}
    domains |= {f"{name}" for name in special} | {f"a.{name}" for name in special} | {f"{name}.vn" for name in special}
    for length in (1, 2, 3, 4, 5, 61, 62, 63, 64, 65):  # label lengths about the 63 limit
        domains.add(label(length) + ".vn")
        domains.add("a." + label(length) + ".com")
        domains.add("a." + label(length, letters))  # as the top-level domain
    for total in range(245, 258):  # total lengths about the 252 an "a@" address leaves, and the 253 limit
        parts = []
        while sum(map(len, parts)) + len(parts) < total - 4:
            parts.append(label(min(63, total - 4 - sum(map(len, parts)) - len(parts))))
        base = ".".join(p for p in parts if p)
        for tld in ("vn", "com", "c0m", "local"):
            domain = (base + "." + tld)[-total:].lstrip(".-")
            domains.add(domain)
            domains.add("x" + domain)
            domains.add(domain.upper())
    for _ in range(20_000):  # random shapes
        n_labels = rng.choice([1, 2, 2, 3, 3, 4, 6])
        labels = []
        for _ in range(n_labels - 1):
            roll = rng.random()
            if roll < 0.05:
                labels.append("")
            elif roll < 0.10:
                labels.append(rng.choice(["-", "-a", "a-", "--", "a--b", "ab--c", "xn--c", "aa--", "-" + label(3)]))
            elif roll < 0.13:
                labels.append(label(rng.choice([62, 63, 64])))
            else:
                labels.append(label(rng.randrange(1, 12)))
        labels.append(rng.choice(tlds + [label(rng.randrange(1, 6), letters)] * 6 + special))
        domain = ".".join(labels)
        roll = rng.random()
        if roll < 0.1:
            domain = domain.upper()
        elif roll < 0.2:
            domain = "".join(c.upper() if rng.random() < 0.3 else c for c in domain)
        elif roll < 0.25:
            domain = rng.choice(["", ".", "-"]) + domain + rng.choice(["", ".", "-"])
        domains.add(domain)
    return sorted(domains)


def test_the_ascii_domain_path_answers_as_email_validator_for_every_shape_of_domain():
    from shared.domain.emails import _ASK_EMAIL_VALIDATOR, _LDH, _domain_forms, _ldh_domain_forms

    domains = [d for d in _generated_ldh_domains() if _LDH.match(d)]
    decided = 0
    verdicts = {True: 0, False: 0}
    for domain in domains:
        expected = _validator_domain_forms(domain)
        ours = _ldh_domain_forms(domain)
        if ours is _ASK_EMAIL_VALIDATOR:
            assert "xn--" in domain.lower(), domain
        else:
            decided += 1
            verdicts[ours is not None] += 1
            assert ours == expected, domain
        assert _domain_forms(domain) == expected, domain
    assert len(domains) > 15_000 and decided > 0.9 * len(domains)
    assert verdicts[True] > 3_000 and verdicts[False] > 3_000
