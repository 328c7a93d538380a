"""E-mail addresses: lists, obfuscation, validation; invalid ones aside, never guessed."""

import pytest

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
