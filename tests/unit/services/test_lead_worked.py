"""`lead-worked` (the console): the owner of an escalation supports, re-contacts or closes the lead."""

from __future__ import annotations

from services import load
from shared.store.models import Contact, Escalation, Lead
from tests.handlers import InProcess
from tests.unit.services.test_segmenter import granted, normalized

LEAD = "mst:0100233488"


def worked(outcome: str, worked_by: str = "BDT-01", **fields) -> dict:
    return dict(lead_id=LEAD, worked_by=worked_by, user="an", outcome=outcome,
                **{"phone": None, "email": None, "note": None, **fields})


def escalated(escalations: InProcess, owner: str = "BDT-01") -> None:
    escalations.handle("lead-escalated", lead_id=LEAD, owner=owner, province_code="01", reason="unreachable",
                       detail=None)


def test_a_lead_the_post_office_reached_is_supported_by_it_and_its_escalation_closed():
    escalations = InProcess(load("escalations"))
    escalated(escalations)
    (supported,) = escalations.handle("lead-worked", **worked("supported")).of("customer-supported")
    assert (supported.lead_id, supported.via, supported.worked_by) == (LEAD, "call", "BDT-01")
    with escalations.session() as session:
        assert session.get(Escalation, LEAD).outcome == "supported"


def test_a_lead_supported_another_way_leaves_the_worklist():
    escalations = InProcess(load("escalations"))
    escalated(escalations)
    escalations.handle("customer-supported", lead_id=LEAD, tax_code="0100233488", province_code="01", via="hotline")
    with escalations.session() as session:
        assert session.get(Escalation, LEAD).closed_at is not None
    assert escalations.handle("lead-worked", **worked("supported")).dead_letters  # nothing left to work


def test_another_unit_or_a_second_time_is_refused_to_the_dead_letters():
    escalations = InProcess(load("escalations"))
    escalated(escalations)
    assert escalations.handle("lead-worked", **worked("supported", worked_by="BDT-33")).dead_letters
    assert escalations.handle("lead-worked", **worked("closed_inactive")).events == []
    assert escalations.handle("lead-worked", **worked("supported")).dead_letters


def test_a_contact_found_goes_back_into_outreach_under_the_contact_rules():
    segmenter = InProcess(load("segmenter"))
    segmenter.handle("lead-normalized", **normalized(outreach_list="insufficient"))
    granted(segmenter, "+84912345678")
    emitted = segmenter.handle("lead-worked", **worked("contact_found", phone="0912 345 678",
                                                       email="ketoan@anphat.com.vn"))
    # The e-mail address has no consent: no marketing to it; the mobile has.
    assert emitted.types() == ["sms-requested", "call-requested"]
    assert emitted.of("call-requested")[0].to == "+84912345678"
    with segmenter.session() as session:
        assert {c.value for c in session.query(Contact).filter_by(lead_id=LEAD)} == {"+84912345678",
                                                                                   "ketoan@anphat.com.vn"}


def test_a_contact_found_that_is_no_phone_number_is_refused():
    segmenter = InProcess(load("segmenter"))
    assert segmenter.handle("lead-worked", **worked("contact_found", phone="12")).dead_letters


def test_the_ledger_puts_a_re_contacted_lead_back_in_outreach_and_closes_an_inactive_one():
    ledger = InProcess(load("lead-ledger"))
    for lead_id in (LEAD, "mst:0314409058"):
        ledger.handle("lead-escalated", lead_id=lead_id, owner="BDT-01", province_code="01", reason="inactive",
                      detail=None)
    ledger.handle("lead-worked", **worked("contact_found", phone="0912345678"))
    ledger.handle("lead-worked", **{**worked("closed_inactive"), "lead_id": "mst:0314409058"})
    with ledger.session() as session:
        assert session.get(Lead, LEAD).stage == "in_outreach"
        assert session.get(Lead, "mst:0314409058").stage == "closed_inactive"
