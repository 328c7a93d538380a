"""Enterprise tax codes: check digit, branches, writing."""

import pytest

from shared.domain.tax_codes import normalize_tax_code


@pytest.mark.parametrize("written, normalized", [
    ("0100233488", "0100233488"), ("0314409058", "0314409058"), ("0100 233 488", "0100233488"),
    ("0314409058-001", "0314409058-001"), ("0314409058001", "0314409058-001"), (" 0300000018 ", "0300000018"),
])
def test_valid_codes_and_branch_codes(written, normalized):
    assert normalize_tax_code(written) == (normalized, True)


@pytest.mark.parametrize("written", ["0100233489", "0314409058-000", "01002334", "abc", "0000000000"])
def test_invalid_codes_are_kept_as_written_and_marked_invalid(written):
    code, valid = normalize_tax_code(written)
    assert (code, valid) == (written.replace(" ", ""), False)


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_no_code(empty):
    assert normalize_tax_code(empty) == (None, False)
