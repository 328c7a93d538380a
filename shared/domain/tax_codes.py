"""Enterprise tax codes (MST): 10 digits, or 10 + "-" + 3 for a branch; the check digit as in
`stdnum.vn.mst` (weights 31, 29, 23, 19, 17, 13, 7, 5, 3; check = 10 − sum mod 11)."""

from __future__ import annotations

import re

from stdnum.exceptions import ValidationError
from stdnum.vn import mst

_SEPARATORS = re.compile(r"[\s.]")


def normalize_tax_code(text: str | None) -> tuple[str | None, bool]:
    """(normalized code, valid). A code that fails the check is kept as written, without
    separators, and marked invalid: never corrected on a guess."""
    cleaned = _SEPARATORS.sub("", text or "")
    if not cleaned:
        return None, False
    try:
        return mst.format(mst.validate(cleaned)), True
    except ValidationError:
        return cleaned, False
