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
