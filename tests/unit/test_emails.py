"""E-mail addresses: lists, obfuscation, validation; invalid ones aside, never guessed."""

from shared.domain.emails import normalize_email, split_emails


def test_lists_split_normalize_and_keep_the_invalid_aside():
    valid, invalid = split_emails("KeToan@SGX.vn; sai@@x, info[at]godongnai.vn / mailto:A@b.vn a@b.vn x (at) y (dot) com")
    assert valid == ["ketoan@sgx.vn", "info@godongnai.vn", "a@b.vn", "x@y.com"]
    assert invalid == ["sai@@x"]


def test_an_address_without_a_domain_is_not_guessed():
    assert normalize_email("ketoan@") is None
    assert normalize_email("ketoan.gmail.com") is None
    assert split_emails(None) == ([], [])
