"""Vietnamese phone numbers: every common writing, the 2018 and 2017 conversions, today's meaning first."""

import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from shared.domain.phones import (_TYPES, AREA_CODES_2017, MOBILE_PREFIXES_2018, Phone, PhoneType, area_code_of,
                                  find_phones, normalize_phone, split_phones, vietnamese_number_type)

MOBILE, LANDLINE = PhoneType.MOBILE, PhoneType.LANDLINE


@pytest.mark.parametrize("written", [
    "0162 345 6789", "0162.345.6789", "0162-345-6789", "01623456789", "1623456789", "+84 162 345 6789",
    "+841623456789", "84-162-345-6789", "(+84) 162 345 6789", "(+84)1623456789", "0084 162 345 6789",
])
def test_an_old_11_digit_viettel_mobile_in_every_writing_is_todays_032(written):
    assert normalize_phone(written) == Phone("+84323456789", MOBILE)


@pytest.mark.parametrize("old, new", [
    ("0120 123 4567", "+84701234567"), ("0121 123 4567", "+84791234567"), ("0122 123 4567", "+84771234567"),
    ("0126 123 4567", "+84761234567"), ("0128 123 4567", "+84781234567"), ("0123 123 4567", "+84831234567"),
    ("0124 123 4567", "+84841234567"), ("0125 123 4567", "+84851234567"), ("0127 123 4567", "+84811234567"),
    ("0129 123 4567", "+84821234567"), ("0186 123 4567", "+84561234567"), ("0188 123 4567", "+84581234567"),
    ("0199 123 4567", "+84591234567"), ("0169 123 4567", "+84391234567"),
])
def test_the_2018_prefix_conversion_of_every_network(old, new):
    assert normalize_phone(old) == Phone(new, MOBILE)


@pytest.mark.parametrize("old, new", [
    ("04 3825 1234", "+842438251234"), ("(04) 3825 1234", "+842438251234"), ("(08) 3825 1234", "+842838251234"),
    ("0511 3822 123", "+842363822123"), ("0510 3822 123", "+842353822123"), ("0650 3822 123", "+842743822123"),
    ("0780 3822 123", "+842903822123"), ("0320 3822 123", "+842203822123"),
])
def test_old_area_codes_become_todays_landlines(old, new):
    assert normalize_phone(old) == Phone(new, LANDLINE)


@pytest.mark.parametrize("written, expected", [
    ("0388 123 456", Phone("+84388123456", MOBILE)),   # 038 was Nghệ An's area code; a Viettel mobile today
    ("0333 822 123", Phone("+84333822123", MOBILE)),   # 033 was Quảng Ninh's
    ("0773 822 123", Phone("+84773822123", MOBILE)),   # 077 was Kiên Giang's
    ("08 3825 1234", Phone("+84838251234", MOBILE)),   # 083 is a VinaPhone prefix today…
    ("(08) 3825 1234", Phone("+842838251234", LANDLINE)),  # …but an area code in brackets means a landline
])
def test_a_number_valid_today_keeps_todays_meaning(written, expected):
    assert normalize_phone(written) == expected


@pytest.mark.parametrize("written, kind", [
    ("1900 54 54 81", PhoneType.HOTLINE), ("1800 1091", PhoneType.TOLL_FREE), ("0672 123 456", PhoneType.VOIP),
    ("024 3825 1234", LANDLINE), ("0210 3845 678", LANDLINE), ("0912 345 678", MOBILE),
])
def test_types(written, kind):
    assert normalize_phone(written).type is kind


@pytest.mark.parametrize("written", ["123", "", "0912", "0999 999 999 999", "hotline", "0100 123 4567",
                                     "00903123456", "00 84"])
def test_what_is_not_a_number_today_or_before_is_none(written):
    assert normalize_phone(written) is None


def test_a_cell_of_several_numbers_splits_keeps_order_drops_duplicates_and_sets_aside_the_bad():
    phones, invalid = split_phones("ĐT: 0912 345 678 - 0987654321; Fax: (04) 3825 1234 / 0166 234 5678, 123 "
                                   "và 0912.345.678")
    assert [p.e164 for p in phones] == ["+84912345678", "+84987654321", "+842438251234", "+84362345678"]
    assert invalid == ["123"]


def test_two_numbers_with_only_spaces_between_them_are_two():
    assert [p.e164 for p in split_phones("0912345678 0987654321")[0]] == ["+84912345678", "+84987654321"]
    assert [p.e164 for p in split_phones("024 3825 1234")[0]] == ["+842438251234"]


def test_numbers_in_a_reply_include_legacy_ones_and_not_other_figures():
    text = "Vui lòng gọi 0912 345 678 hoặc số cũ 01662345678, cơ quan (04) 3825 1234. Mã hồ sơ 2024 123456."
    assert [p.e164 for p in find_phones(text)] == ["+84912345678", "+84362345678", "+842438251234"]


def test_area_codes_of_landlines_only():
    assert area_code_of(normalize_phone("028 3825 1234")) == "28"
    assert area_code_of(normalize_phone("0236 3822 123")) == "236"
    assert area_code_of(normalize_phone("0912 345 678")) is None


@pytest.mark.parametrize("written, e164", [
    ("84912345678", "+84912345678"), ("912345678", "+84912345678"), ("+84 (0) 912 345 678", "+84912345678"),
    ("(+84) 24 3825 1234", "+842438251234"), ("(0511) 3822 123", "+842363822123"), ("0511.3822.123", "+842363822123"),
    ("0650 3822123", "+842743822123"), ("064 3822 123", "+842543822123"), ("0123 456 7890", "+84834567890"),
])
def test_more_writings(written, e164):
    assert normalize_phone(written).e164 == e164


def test_a_converted_number_that_is_not_valid_today_is_none():
    assert normalize_phone("0160 123 4567") is None     # 0160 was never a mobile prefix


@pytest.mark.parametrize("cell, expected", [
    ("0912345678-0987654321", ["+84912345678", "+84987654321"]),
    ("0912-345-678", ["+84912345678"]),
    ("024 3825 1234 (máy lẻ 12)", ["+842438251234"]),
    ("Tel/Fax: 024.3825.1234", ["+842438251234"]),
    ("DĐ 0912345678, CQ: 0236 3822 123", ["+84912345678", "+842363822123"]),
    ("Điện thoại: 0912345678 hoặc 0987654321", ["+84912345678", "+84987654321"]),
    ("0912345678 | 0987654321\n01662345678", ["+84912345678", "+84987654321", "+84362345678"]),
])
def test_cells_of_numbers(cell, expected):
    phones, invalid = split_phones(cell)
    assert [p.e164 for p in phones] == expected and invalid == []


@pytest.mark.parametrize("empty", [None, "", "không có"])
def test_an_empty_cell_has_no_numbers_and_nothing_invalid(empty):
    assert split_phones(empty) == ([], [])


def test_find_phones_converts_legacy_writings_and_ignores_dates_and_tax_codes():
    assert [p.e164 for p in find_phones("gọi +84 162 345 6789 nhé")] == ["+84323456789"]
    assert [p.e164 for p in find_phones("MST 0100233488, hẹn 10/12/2024, gọi 0988 123 456")] == ["+84988123456"]
    assert find_phones("") == []


def test_national_form():
    assert normalize_phone("+84 912 345 678").national == "0912345678"
    assert normalize_phone("1900 54 54 81").national == "1900545481"


def test_the_vietnamese_type_test_answers_as_libphonenumber_for_every_prefix_and_length():
    rng = random.Random(84)
    # Every 1-3 digit prefix at every length from 6 to 12 digits, a few random endings each.
    samples = {prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix)))
               for prefix in map(str, range(1, 1000)) for length in range(max(6, len(prefix)), 13) for _ in range(2)}
    samples |= {f"{service}{rng.randrange(10**6):0{width}d}"[:4 + width]
                for service in ("1800", "1900", "1801", "1901") for width in (3, 4, 5, 6) for _ in range(20)}
    kinds = set()
    for significant in sorted(samples):
        expected = phonenumbers.number_type(phonenumbers.PhoneNumber(country_code=84, national_number=int(significant)))
        assert vietnamese_number_type(significant) == expected, significant
        kinds.add(expected)
    assert {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE, PhoneNumberType.VOIP,
            PhoneNumberType.PREMIUM_RATE, PhoneNumberType.UNKNOWN} <= kinds


def _libphonenumber(national: str) -> Phone | None:
    """The reference: libphonenumber's parse and validity test, with careflow's type names."""
    number = phonenumbers.parse(national, "VN")
    kind = _TYPES.get(phonenumbers.number_type(number)) if phonenumbers.is_valid_number(number) else None
    return kind and Phone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), kind)


def _reference(national: str) -> Phone | None:
    """Today's meaning, else the 2018 mobile or 2017 area-code conversion, each as libphonenumber reads it."""
    if today := _libphonenumber(national):
        return today
    if len(national) == 11 and national[:4] in MOBILE_PREFIXES_2018:
        converted = _libphonenumber(MOBILE_PREFIXES_2018[national[:4]] + national[4:])
        return converted if converted and converted.type is PhoneType.MOBILE else None
    for length in (4, 3, 2):
        if (code := AREA_CODES_2017.get(national[:length])) and \
                (converted := _libphonenumber(code + national[length:])) and converted.type is PhoneType.LANDLINE:
            return converted
    return None


def test_every_writing_of_every_shape_of_number_answers_as_libphonenumber():
    rng = random.Random(2018)
    digits = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    # Every 1-3 digit prefix after the 0 at every length (valid, legacy and invalid shapes alike),
    # the old 11-digit mobile prefixes, hotlines and toll-free numbers.
    nationals = [f"0{prefix}{digits(length - len(prefix))}" for prefix in map(str, range(1, 1000))
                 for length in range(max(5, len(prefix)), 12, 3)]
    nationals += [f"{old}{digits(7)}" for old in MOBILE_PREFIXES_2018 for _ in range(20)]
    nationals += [f"{old}{digits(10 - len(old))}" for old in AREA_CODES_2017 for _ in range(5)]
    nationals += [f"{service}{digits(rng.choice((4, 5, 6)))}" for service in ("1800", "1900") for _ in range(50)]
    national_writings = [lambda n: n, lambda n: f"{n[:4]} {n[4:7]} {n[7:]}", lambda n: f"{n[:4]}.{n[4:7]}.{n[7:]}",
                         lambda n: f"{n[:3]}-{n[3:]}"]
    international_writings = [lambda n: f"+84 {n[1:]}", lambda n: f"0084{n[1:]}", lambda n: f"(+84) {n[1:4]} {n[4:]}",
                              lambda n: f"84{n[1:]}" if len(n) in (10, 11) else n]  # a bare 84 is read at 11-12 digits
    kinds = set()
    for national in nationals:
        expected = _reference(national)
        kinds.add(expected and expected.type)
        hotline = national.startswith(("1800", "1900"))
        for write in national_writings + ([] if hotline else international_writings):
            assert normalize_phone(write(national)) == expected, (write(national), national)
    assert kinds >= {None, *PhoneType}


def test_a_cell_without_a_letter_is_one_the_label_and_extension_patterns_cannot_match():
    """split_phones skips both substitutions on a cell in which _LETTER finds nothing: every match
    of either pattern holds one of its literal letters, and every character that any of them
    matches (case-insensitively, as the patterns do) is one _LETTER finds."""
    import re
    import sys

    from shared.domain.phones import _EXTENSION, _LABELS, _LETTER

    letters = {c for pattern in (_EXTENSION, _LABELS) for c in pattern.pattern if c.isalpha()}
    matches_a_letter = re.compile("[" + "".join(sorted(letters)) + "]", re.I).fullmatch
    missed = [hex(n) for n in range(sys.maxunicode + 1) if matches_a_letter(chr(n)) and not _LETTER.match(chr(n))]
    assert missed == []
    # And a cell with a label or an extension is cleaned as before.
    assert [p.e164 for p in split_phones("ĐT: 0912 345 678 ext 12; Fax: (024) 3825 1234")[0]] == \
        ["+84912345678", "+842438251234"]
