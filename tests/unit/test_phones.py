"""Vietnamese phone numbers: every common writing, the 2018 and 2017 conversions, today's meaning first."""

import pytest

from shared.domain.phones import Phone, PhoneType, area_code_of, find_phones, normalize_phone, split_phones

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


@pytest.mark.parametrize("written", ["123", "", "0912", "0999 999 999 999", "hotline", "0100 123 4567"])
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
