"""Provinces after the 2025 merger (Resolution 202/2025/QH15): 34 units with a 2-digit code.

Old lists name the 63 former provinces or the new ones, with or without diacritics, with
abbreviations. The province is the last administrative part of an address; a province name in
a street name ("đường Hà Nội") is not the province. The data is `data/provinces.json`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from shared.domain.phones import Phone, area_code_of
from shared.domain.text import fold

TCT = "TCT"  # the postal corporation's head office: owner when no province is known

_DATA = json.loads((Path(__file__).parent / "data" / "provinces.json").read_text(encoding="utf-8"))
PROVINCE_NAMES: dict[str, str] = _DATA["provinces"]
PROVINCE_CODES = frozenset(PROVINCE_NAMES)
_BY_AREA_CODE = {unit["area_code"]: unit["code"] for unit in _DATA["old_units"]}
# Words before a name that say "this is an administrative unit" (dropped) or "this is a street" (no match).
_UNIT_WORDS = ("thanh pho", "tinh", "tp", "t")
_STREET_WORDS = {"duong", "pho", "ngo", "hem", "kiet", "dai lo", "so", "ql", "quoc lo", "tl", "ap", "thon", "to"}
_COUNTRY = {"viet nam", "vietnam", "vn"}


def _names() -> dict[str, str]:
    names = {fold(name): code for code, name in PROVINCE_NAMES.items()}
    for unit in _DATA["old_units"]:
        for name in (unit["name"], *unit["aliases"]):
            names[fold(name)] = unit["code"]
    return names


_NAMES = _names()
_LONGEST_NAME = max(len(name.split()) for name in _NAMES)


def post_office_code(province_code: str | None) -> str:
    """The owner of an escalation: the BĐT of the province, or TCT when none is known."""
    return f"BDT-{province_code}" if province_code in PROVINCE_CODES else TCT


def province_name(code: str) -> str:
    return PROVINCE_NAMES[code]


def _strip_unit_word(words: list[str]) -> list[str]:
    for unit_word in _UNIT_WORDS:
        size = len(unit_word.split())
        if words[:size] == unit_word.split() and len(words) > size:
            return words[size:]
    return words


def province_of_part(part: str) -> str | None:
    """The province an address part names: the whole part, or its last words when what precedes
    them is not a street word."""
    words = fold(part).split()
    while words and (words[-1].isdigit() or words[-1] in _COUNTRY):
        words.pop()  # a postal code or the country written after the province without a comma
    if words[-2:] == ["viet", "nam"]:
        words = words[:-2]
    words = _strip_unit_word(words)
    if not words:
        return None
    if (code := _NAMES.get(" ".join(words))) is not None:
        return code
    for size in range(min(_LONGEST_NAME, len(words) - 1), 0, -1):
        tail, before = " ".join(words[-size:]), words[:-size]
        if tail not in _NAMES:
            continue
        if before[-1] in _UNIT_WORDS or " ".join(before[-2:]) in _UNIT_WORDS:
            return _NAMES[tail]  # "… Thành phố Hà Nội", "… tỉnh Bình Dương"
        if before[-1] not in _STREET_WORDS and " ".join(before[-2:]) not in _STREET_WORDS:
            return _NAMES[tail]
    return None


def province_from_address(address: str | None) -> str | None:
    """The post-2025 code of the address's province (its last administrative part), or None."""
    # From the end, folding only what is read: the street parts in front are each a fold of their own.
    for part in reversed(_PARTS.split(address or "")):
        folded = fold(part)
        if folded and folded not in _COUNTRY and not folded.isdigit():  # "…, Việt Nam", a postal code
            return province_of_part(part)
    return None


_PARTS = re.compile(r",|;|\s[-–]\s|\n")


def province_from_phone(phone: Phone) -> str | None:
    """A landline's area code names its (old) province."""
    area_code = area_code_of(phone)
    return _BY_AREA_CODE.get(area_code) if area_code else None
