"""A lead normalized and classified: contact classes, outreach list, identity."""

import pytest

from shared.domain.leads import OutreachList, RawLead, lead_id, normalize_lead, normalize_report


def lead(phones="", emails="", address="Hà Nội", tax_code="0100233488", name="Công ty TNHH Minh An"):
    return normalize_lead(RawLead(tax_code, name, address, phones, emails))


@pytest.mark.parametrize("phones, emails, outreach, classes", [
    ("0912 345 678", "", OutreachList.CALLABLE, (False, True, False)),
    ("024 3825 1234", "a@b.vn", OutreachList.CALLABLE, (True, False, True)),
    ("0672 123 456", "", OutreachList.CALLABLE, (False, False, True)),          # VoIP is dialable like a landline
    ("", "a@b.vn", OutreachList.EMAIL_ONLY, (True, False, False)),
    ("1900 54 54 81; 1800 1091", "a@b.vn", OutreachList.EMAIL_ONLY, (True, False, False)),
    ("1900 54 54 81", "", OutreachList.INSUFFICIENT, (False, False, False)),  # a hotline never makes a lead callable
    ("123", "sai@", OutreachList.INSUFFICIENT, (False, False, False)),
])
def test_contact_classes_and_outreach_lists(phones, emails, outreach, classes):
    normalized = lead(phones, emails)
    assert normalized.outreach_list is outreach
    assert (normalized.has_email, normalized.has_mobile, normalized.has_landline) == classes


def test_without_a_province_in_the_address_a_landlines_area_code_decides():
    assert lead("0912 345 678; 0236 3822 123", address="12 Lê Duẩn").province_code == "48"
    assert lead("0236 3822 123", address="Văn Lâm, Hưng Yên").province_code == "33"
    assert lead("0912 345 678", address="").province_code is None


def test_identity_is_the_tax_code_or_the_exact_name_in_its_province():
    assert lead_id("0314409058-001", True, "Chi nhánh", "79") == "mst:0314409058-001"   # a branch is a lead of its own
    by_name = lead_id(None, False, "Hộ kinh doanh  Phúc Lộc", "46")
    assert by_name == lead_id("0100233480", False, "ho kinh doanh phuc loc", "46")      # same name, same province
    assert by_name.startswith("name:46:")
    assert by_name != lead_id(None, False, "Hộ kinh doanh Phúc Lộc 2", "46")            # never merged on a guess
    assert by_name != lead_id(None, False, "Hộ kinh doanh Phúc Lộc", "48")


def test_the_normalize_report_has_exactly_the_documented_keys():
    report = normalize_report(3, lead("0166 234 5678, 123", "A@B.vn; x@"))
    assert report == {"row": 3, "tax_code": "0100233488", "tax_code_valid": True, "province_code": "01",
                      "phones": [{"e164": "+84362345678", "type": "mobile"}], "invalid_phones": ["123"],
                      "emails": ["a@b.vn"], "invalid_emails": ["x@"], "outreach_list": "callable"}


def test_the_address_decides_before_the_landline_and_the_name_is_collapsed():
    normalized = lead("0236 3822 123", address="Q. Hải Châu, TP Đà Nẵng", name="  Công ty   CP  An Bình ")
    assert normalized.province_code == "48" and normalized.company_name == "Công ty CP An Bình"
    assert lead("0236 3822 123", address="Thu Dau Mot, Binh Duong").province_code == "79"


def test_an_invalid_tax_code_is_kept_and_the_lead_is_identified_by_name():
    normalized = lead(tax_code="0100233489")
    assert (normalized.tax_code, normalized.tax_code_valid) == ("0100233489", False)
    assert lead_id(normalized.tax_code, False, normalized.company_name, "01").startswith("name:01:")
    assert lead_id(None, False, None, None).startswith("name:xx:")
    assert lead_id(None, False, "Công ty TNHH An Bình", "01") != lead_id(None, False, "An Bình", "01")
