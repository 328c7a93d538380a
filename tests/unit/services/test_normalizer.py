"""The normalizer's handlers in-process: an imported row becomes a normalized lead, or is escalated
to the post office of its province when the enrichment sources find it inactive or know nothing."""

from __future__ import annotations

from services import load
from shared.config import Policies, Settings
from shared.enrichment import EnterpriseRecord
from tests.handlers import InProcess


class Registry:
    """An enrichment provider that knows the enterprises it is given."""

    name = "registry:test"

    def __init__(self, *records: EnterpriseRecord):
        self.records = {record.tax_code: record for record in records}

    def lookup(self, tax_code: str) -> EnterpriseRecord | None:
        return self.records.get(tax_code)


def record(tax_code: str, active: bool = True, phones: str | None = None, emails: str | None = None,
           address: str | None = None) -> EnterpriseRecord:
    return EnterpriseRecord(tax_code, "Doanh nghiệp tư nhân Hưng Thịnh", active, address, phones, emails, Registry.name)


def normalizer(*records: EnterpriseRecord) -> InProcess:
    return InProcess(load("normalizer"), policies=Policies(Settings(), enrichment=[Registry(*records)]))


def imported(lead_id: str = "mst:0100233488", tax_code: str | None = "0100233488", **fields) -> dict:
    return dict(lead_id=lead_id, source="bhxh.csv", row_number=2, tax_code=tax_code, **fields)


def test_a_row_is_normalized_into_e164_phones_clean_emails_its_province_and_contact_classes():
    emitted = normalizer().handle("lead-imported", **imported(
        company_name="Công ty TNHH Minh An", address="12 Tràng Tiền, Hoàn Kiếm, Hà Nội",
        phones="0166 234 5678 - (04) 3825 1234 - 1900 54 54 81", emails="KeToan@MinhAn.vn; lienhe[at]minhan.vn; sai@"))
    (lead,) = emitted.of("lead-normalized")
    assert emitted.types() == ["lead-normalized"]
    assert [(p.e164, p.type) for p in lead.phones] == [
        ("+84362345678", "mobile"), ("+842438251234", "landline"), ("+841900545481", "hotline")]
    assert lead.emails == ["ketoan@minhan.vn", "lienhe@minhan.vn"] and lead.invalid_emails == ["sai@"]
    assert (lead.province_code, lead.tax_code_valid, lead.outreach_list) == ("01", True, "callable")
    assert (lead.has_email, lead.has_mobile, lead.has_landline) == (True, True, True)
    assert lead.enrichment_source is None
    assert [output.key for output in emitted.outputs] == [b"mst:0100233488"]


def test_a_hotline_number_alone_makes_a_lead_insufficient_not_callable():
    emitted = normalizer().handle("lead-imported", **imported(address="Lục Ngạn, Bắc Giang", phones="1900 54 54 81"))
    (lead,) = emitted.of("lead-normalized")
    assert (lead.outreach_list, lead.has_mobile, lead.has_landline, lead.province_code) == (
        "insufficient", False, False, "24")


def test_an_enterprise_the_registry_lists_as_inactive_is_escalated_to_the_post_office_of_its_province():
    emitted = normalizer(record("0100233488", active=False)).handle(
        "lead-imported", **imported(address="Thái Bình", phones="0912 345 678"))
    assert emitted.types() == ["lead-escalated"]
    (escalated,) = emitted.of("lead-escalated")
    assert (escalated.reason, escalated.owner, escalated.province_code) == ("inactive", "BDT-33", "33")
    assert "registry:test" in escalated.detail
    assert [output.key for output in emitted.outputs] == [b"mst:0100233488"]


def test_an_enterprise_found_in_the_registry_is_enriched_with_its_contacts():
    emitted = normalizer(record("0100233488", phones="0903 111 222", emails="info@hungthinh.vn",
                                address="Biên Hòa, Đồng Nai")).handle("lead-imported", **imported())
    (lead,) = emitted.of("lead-normalized")
    assert [p.e164 for p in lead.phones] == ["+84903111222"] and lead.emails == ["info@hungthinh.vn"]
    assert (lead.company_name, lead.province_code) == ("Doanh nghiệp tư nhân Hưng Thịnh", "75")
    assert lead.enrichment_source == "registry:test"


def test_the_list_own_contacts_come_first_and_the_registry_adds_to_them():
    emitted = normalizer(record("0100233488", phones="0903 111 222")).handle(
        "lead-imported", **imported(address="Hà Nội", phones="0912 345 678"))
    (lead,) = emitted.of("lead-normalized")
    assert [p.e164 for p in lead.phones] == ["+84912345678", "+84903111222"]


def test_an_enterprise_no_source_knows_and_without_contacts_is_escalated_as_not_found():
    emitted = normalizer(record("0314409058")).handle("lead-imported", **imported(address="KCN Trà Nóc, Cần Thơ"))
    (escalated,) = emitted.of("lead-escalated")
    assert (escalated.reason, escalated.owner) == ("not_found", "BDT-92")


def test_an_invalid_tax_code_is_not_looked_up_and_its_row_contacts_still_count():
    emitted = normalizer(record("0100233488", active=False)).handle(
        "lead-imported", **imported(lead_id="name:01:abc", tax_code="0100233480", address="Hà Nội",
                                    phones="0912 000 000"))
    (lead,) = emitted.of("lead-normalized")
    assert (lead.tax_code_valid, lead.enrichment_source, lead.outreach_list) == (False, None, "callable")


def test_a_malformed_message_goes_to_the_dead_letter_topic_with_the_reason():
    not_avro = b'{"lead_id": "mst:0100233488"}'  # JSON, as a producer that ignores the contract would send
    emitted = normalizer().raw("lead-imported", not_avro)
    assert emitted.events == []
    (dead,) = emitted.dead_letters
    headers = dict(dead.headers)
    assert dead.topic == "lead-imported.dlq" and dead.value == not_avro
    assert b"not Avro single-object encoding" in headers["error"]
    assert headers["error_type"] == b"DecodeError" and headers["service"] == b"normalizer"


def test_a_current_schema_message_with_an_invalid_value_goes_to_the_dead_letter_topic():
    from shared.contract import build_event, codec, envelope

    valid = codec.encode("lead-imported", build_event("lead-imported", envelope("lead-imported", "test"),
                                                      **imported(company_name="Công ty é")))
    corrupt = valid.replace("é".encode(), b"\xff\xfe")  # not UTF-8, in a string of the current schema
    emitted = normalizer().raw("lead-imported", corrupt)
    assert emitted.events == []
    (dead,) = emitted.dead_letters
    assert dead.value == corrupt and b"corrupt Avro body" in dict(dead.headers)["error"]
