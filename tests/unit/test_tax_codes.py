"""Enterprise tax codes: check digit, branches, writing."""

import random

import pytest
from stdnum.exceptions import ValidationError
from stdnum.vn import mst

from shared.domain.tax_codes import checked, normalize_tax_code


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


@pytest.mark.parametrize("code", ["0400000029", "0600000040", "0700000051", "0800000062", "0900000073",
                                  "1100000090", "1200000111", "0100233488-001"])
def test_more_valid_codes(code):
    assert normalize_tax_code(code) == (code, True)


@pytest.mark.parametrize("written, normalized", [
    ("0100.233.488", "0100233488"), ("0100233488001", "0100233488-001"), ("0100233488 - 001", "0100233488-001"),
])
def test_writings(written, normalized):
    assert normalize_tax_code(written) == (normalized, True)


def test_a_13_digit_code_with_suffix_000_is_invalid():
    assert normalize_tax_code("0100233488000") == ("0100233488000", False)


LABELS = ["MST:", "MST", "Mã số thuế:", "Mã số thuế", "MÃ SỐ THUẾ :", "Ma so thue:", "Mã số DN:", "Mã số doanh nghiệp:",
          "MSDN", "Tax code:", "Tax ID", "MST/Mã số DN:", "M.S.T:"]
WRITINGS = ["{}", "{} ", "'{}", "’{}", "{}.", "({})"]


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("code, written", [
    ("0100233488", "0100233488"), ("0100233488", "0100 233 488"), ("0100233488", "0100.233.488"),
    ("0100233488", "0100-233-488"), ("0314409058-001", "0314409058-001"), ("0314409058-001", "0314409058 – 001"),
])
def test_labels_and_separators_operators_write(label, code, written):
    for shape in WRITINGS:
        assert normalize_tax_code(f"{label} {shape.format(written)}") == (code, True), (label, shape)
        assert normalize_tax_code(shape.format(written)) == (code, True)


@pytest.mark.parametrize("written, normalized", [
    ("100233488", "0100233488"), ("'100233488", "0100233488"), ("314409058001", "0314409058-001"),
])
def test_a_leading_zero_excel_dropped_is_put_back_when_the_check_digit_holds(written, normalized):
    assert normalize_tax_code(written) == (normalized, True)


def test_nine_digits_that_fail_the_check_even_with_a_zero_stay_invalid():
    assert normalize_tax_code("MST: 100233489") == ("100233489", False)


def test_the_check_answers_as_stdnum_for_every_shape_of_digits():
    """`checked` skips stdnum's generic clean-up: on any run of digits it must answer as
    `mst.format(mst.validate(...))` does (None where validate raises)."""
    rng = random.Random(2025)
    samples = []
    for _ in range(4000):
        nine = "".join(rng.choice("0123456789") for _ in range(9))
        check = mst.calc_check_digit(nine)
        code = nine + (check if len(check) == 1 and rng.random() < 0.8 else str(rng.randrange(10)))
        other_digits = str.maketrans("0123456789", rng.choice(["٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９"]))  # \\d, not ASCII
        samples += [code, code + f"{rng.randrange(1000):03d}", code + "000", code[:2] + "0000000" + code[9:],
                    nine.translate(other_digits) + code[9:],
                    "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 16)))]
    samples += ["٠١٠٠٢٣٣٤٨٨", "0100233488", "0100233488001", "0100233488000", "0000000000", "10" + "0" * 8]
    answers = []
    for digits in samples:
        try:
            expected = mst.format(mst.validate(digits))
        except ValidationError:
            expected = None
        assert checked(digits) == expected, digits
        answers.append(expected)
    assert sum(a is not None and len(a) == 10 for a in answers) > 2000
    assert sum(a is not None and len(a) == 14 for a in answers) > 2000
