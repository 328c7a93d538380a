"""Enterprise tax codes (MST): 10 digits, or 10 + "-" + 3 for a branch; the check digit as in
`stdnum.vn.mst` (weights 31, 29, 23, 19, 17, 13, 7, 5, 3; check = 10 − sum mod 11).

Cells come as operators write them: a label in front ("MST:", "Mã số thuế:", "Mã số DN", "Tax
code"), spaces, dots or dashes inside, Excel's text apostrophe, a leading zero Excel dropped from
a number."""

from __future__ import annotations

import re

from stdnum.exceptions import ValidationError
from stdnum.vn import mst

# The code: the first run of digits with the separators people type between them.
_CODE = re.compile(r"\d(?:[\d\s.\-‐‑–—]*\d)?")
_SEPARATORS = re.compile(r"[^\d]")


def normalize_tax_code(text: str | None) -> tuple[str | None, bool]:
    """(normalized code, valid). A code that fails the check is kept as written, without label
    and separators, and marked invalid: never corrected on a guess (a zero Excel dropped is put
    back only when the check digit then holds)."""
    written = (text or "").strip().lstrip("'’`").strip()
    found = _CODE.search(written)
    if found is None:
        return (written or None), False
    digits = _SEPARATORS.sub("", found.group())
    for candidate in (digits, "0" + digits) if len(digits) in (9, 12) else (digits,):
        if (code := checked(candidate)) is not None:
            return code, True
    return re.sub(r"[\s.]", "", found.group()), False


def checked(digits: str) -> str | None:
    """`mst.format(mst.validate(digits))` for a run of digits, None where validate raises: for ASCII
    digits, stdnum's rules and check digit without its generic clean-up (a sixth of a lead's
    normalization)."""
    if not digits.isascii():  # other digits (full-width…): stdnum's own clean-up reads them
        try:
            return mst.format(mst.validate(digits))
        except ValidationError:
            return None
    if len(digits) not in (10, 13) or digits[2:9] == "0000000" or digits[10:] == "000":
        return None
    # stdnum's calc_check_digit, unrolled over the digits' code points (a generator per code was a
    # third of the check): 10 − (weighted sum mod 11), which as 10 or 11 matches no digit.
    d = digits.encode()
    total = (31 * d[0] + 29 * d[1] + 23 * d[2] + 19 * d[3] + 17 * d[4] + 13 * d[5] + 7 * d[6] + 5 * d[7] + 3 * d[8]
             - 48 * 147)  # each code point is its digit + 48; the weights sum to 147
    if d[9] - 48 != 10 - total % 11:
        return None
    return digits if len(digits) == 10 else f"{digits[:10]}-{digits[10:]}"
