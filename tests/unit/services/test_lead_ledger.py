"""The lead ledger's handlers in-process: where each lead stands in the funnel, forward only."""

from __future__ import annotations

from services import load
from shared.store.models import Lead
from tests.handlers import InProcess

LEAD = "mst:0100233488"


def stage(ledger: InProcess, lead_id: str = LEAD) -> str:
    with ledger.session() as session:
        return session.get(Lead, lead_id).stage


def imported(ledger: InProcess):
    return ledger.handle("lead-imported", lead_id=LEAD, source="bhxh.csv", row_number=2, tax_code="0100233488",
                         company_name="Công ty TNHH Minh An", bhxh_unit_code="HN-01")


def normalized(ledger: InProcess):
    return ledger.handle("lead-normalized", lead_id=LEAD, tax_code="0100233488", tax_code_valid=True,
                         company_name="Công ty TNHH Minh An", province_code="01", has_email=True, has_mobile=True,
                         has_landline=False, outreach_list="callable")


def test_a_lead_moves_from_imported_through_outreach_to_supported_and_the_ledger_emits_nothing():
    ledger = InProcess(load("lead-ledger"))
    assert imported(ledger).outputs == [] and stage(ledger) == "imported"
    normalized(ledger)
    assert stage(ledger) == "normalized"
    ledger.handle("sms-requested", lead_id=LEAD, to="+84912345678", text="[QC] …", marketing=True)
    assert stage(ledger) == "in_outreach"
    ledger.handle("call-ended", call_id="c1", subject_type="lead", subject_id=LEAD, number="+84912345678",
                  direction="outbound", disposition="right_person")
    assert ledger.handle("customer-supported", lead_id=LEAD, via="call").outputs == []
    with ledger.session() as session:
        lead = session.get(Lead, LEAD)
        assert (lead.stage, lead.calls, lead.bhxh_unit_code, lead.province_code, lead.has_email) == (
            "supported", 1, "HN-01", "01", True)


def test_a_lead_never_moves_back_and_one_supported_after_its_escalation_counts_as_supported():
    ledger = InProcess(load("lead-ledger"))
    imported(ledger)
    ledger.handle("lead-escalated", lead_id=LEAD, owner="BDT-01", province_code="01", reason="unreachable")
    normalized(ledger)  # a re-import
    assert stage(ledger) == "escalated"
    ledger.handle("customer-supported", lead_id=LEAD, via="hotline")
    ledger.handle("lead-escalated", lead_id=LEAD, owner="TCT", province_code="01", reason="returned_to_tct")
    assert stage(ledger) == "supported"


def test_an_event_that_overtakes_the_import_creates_the_lead_and_the_import_then_fills_it_in():
    ledger = InProcess(load("lead-ledger"))
    ledger.handle("call-requested", subject_type="lead", subject_id=LEAD, to="+84912345678", purpose="consultation",
                  attempt=1)
    imported(ledger)
    with ledger.session() as session:
        lead = session.get(Lead, LEAD)
        assert (lead.stage, lead.company_name, lead.source) == ("in_outreach", "Công ty TNHH Minh An", "bhxh.csv")


def test_profile_call_backs_are_not_leads():
    ledger = InProcess(load("lead-ledger"))
    msisdn = "+84901000004"
    ledger.handle("call-requested", subject_type="subscriber", subject_id=msisdn, to=msisdn,
                  purpose="profile_callback", attempt=1)
    ledger.handle("call-ended", call_id="c2", subject_type="subscriber", subject_id=msisdn, number=msisdn,
                  direction="outbound", disposition="right_person")
    with ledger.session() as session:
        assert session.query(Lead).count() == 0


def test_a_lead_imported_again_stays_one_lead_where_it_stood():
    ledger = InProcess(load("lead-ledger"))
    imported(ledger)
    normalized(ledger)
    ledger.handle("customer-supported", lead_id=LEAD, via="call")
    imported(ledger)
    normalized(ledger)
    with ledger.session() as session:
        assert [(lead.lead_id, lead.stage) for lead in session.query(Lead)] == [(LEAD, "supported")]
