"""Provinces after the 2025 merger: the last administrative part of an address decides."""

import pytest

from shared.domain.phones import normalize_phone
from shared.domain.provinces import PROVINCE_CODES, post_office_code, province_from_address, province_from_phone


def test_34_units():
    assert len(PROVINCE_CODES) == 34


@pytest.mark.parametrize("address, code", [
    ("12 Tràng Tiền, Hoàn Kiếm, Hà Nội", "01"), ("45 Lê Lợi, Quận 1, TP.HCM", "79"), ("Q.1 HCM", "79"),
    ("Tp. Hồ Chí Minh", "79"), ("Thu Dau Mot, Binh Duong", "79"), ("BR-VT", "79"), ("Vũng Tàu", "79"),
    ("Quang Nam", "48"), ("Thai Binh", "33"), ("Tỉnh Thái Bình", "33"), ("T. Hưng Yên", "33"),
    ("Thành phố Cần Thơ", "92"), ("Sóc Trăng", "92"), ("20 Lê Lợi, TP Huế", "46"), ("Tỉnh Thừa Thiên Huế", "46"),
    ("Đăk Lăk", "66"), ("Phú Yên", "66"), ("Kontum", "51"), ("Lục Ngạn Bắc Giang", "24"), ("Hà Nội, Việt Nam", "01"),
    ("Hà Giang", "08"), ("Yên Bái", "15"), ("Vĩnh Phúc", "25"), ("Bạc Liêu", "96"), ("Kiên Giang", "91"),
])
def test_old_and_new_names_with_and_without_diacritics_and_abbreviations(address, code):
    assert province_from_address(address) == code


@pytest.mark.parametrize("address, code", [
    ("Số 5 đường Hải Phòng, Thanh Khê, Đà Nẵng", "48"), ("12 đường Hà Nội, P. Phú Hội, TP Huế", "46"),
    ("đường Hà Nội", None), ("số 1 phố Huế", None), ("Hoàn Kiếm", None), ("", None), (None, None),
])
def test_a_province_in_a_street_name_is_not_the_province(address, code):
    assert province_from_address(address) == code


def test_a_landline_area_code_names_the_province():
    assert province_from_phone(normalize_phone("0234 3822 123")) == "46"
    assert province_from_phone(normalize_phone("0219 3822 123")) == "08"   # Hà Giang kept its code
    assert province_from_phone(normalize_phone("0912 345 678")) is None


def test_escalations_go_to_the_provinces_post_office_or_the_head_office():
    assert post_office_code("79") == "BDT-79"
    assert post_office_code(None) == "TCT"


@pytest.mark.parametrize("address, code", [
    ("số 5 đường Hà Nội, phường X, Đà Nẵng", "48"), ("12 đường Hải Phòng, Q. Thanh Khê, TP Đà Nẵng", "48"),
    ("Hoàn Kiếm Thành phố Hà Nội", "01"), ("Cầu Giấy Hà Nội", "01"), ("Long Thành, Đồng Nai 810000", "75"),
    ("Bien Hoa, Dong Nai, Vietnam", "75"), ("Ninh Kiều, TP Cần Thơ, VN", "92"), ("TP. HCM, Việt Nam", "79"),
    ("Phường Bến Thành, Quận 1, Thành phố Hồ Chí Minh", "79"), ("Sài Gòn", "79"), ("tp hcm", "79"),
    ("Xã An Bình, Huyện Phú Giáo, Tỉnh Bình Dương", "79"), ("Ba Ria Vung Tau", "79"), ("Khánh Hoà", "56"),
    ("Thanh Hoá", "38"), ("Quận Hà Đông, HN", "01"), ("TP.Hà Nội", "01"), ("Tinh Dak Nong", "68"),
    ("đường Hà Nội, Quận 2", None), ("Thị xã Hà Tiên, Kiên Giang", "91"),
    ("123 Nguyễn Văn Linh, Hải Châu, ĐN", None),   # ĐN: Đà Nẵng, Đồng Nai or Đắk Nông — not guessed
])
def test_more_addresses(address, code):
    assert province_from_address(address) == code


@pytest.mark.parametrize("phone, code", [
    ("024 3825 1234", "01"), ("028 3825 1234", "79"), ("0210 3845 678", "25"), ("0211 3845 678", "25"),
    ("0218 3845 678", "25"), ("0274 3822 123", "79"), ("0254 3822 123", "79"), ("0511 3822 123", "48"),
])
def test_area_codes_to_new_provinces(phone, code):
    assert province_from_phone(normalize_phone(phone)) == code


def test_names_and_the_head_office():
    from shared.domain.provinces import TCT, province_name
    assert province_name("01") == "Hà Nội" and TCT == "TCT"
    assert post_office_code("48") == "BDT-48"
