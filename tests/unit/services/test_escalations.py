"""The escalations service's handlers in-process: who owns each escalated lead, and a post office
handing a lead back to the head office (TCT) — only a lead it owns."""

from __future__ import annotations

from services import load
from shared.store.models import Escalation
from tests.handlers import InProcess

LEAD = "mst:0900000073"


def escalated(owner: str = "BDT-24", province_code: str | None = "24", reason: str = "insufficient_contacts"):
    escalations = InProcess(load("escalations"))
    emitted = escalations.handle("lead-escalated", lead_id=LEAD, owner=owner, province_code=province_code,
                                 reason=reason, detail="no callable phone and no e-mail address")
    assert emitted.outputs == []
    return escalations


def owner(escalations: InProcess) -> str:
    with escalations.session() as session:
        return session.get(Escalation, LEAD).owner


def test_an_escalated_lead_is_owned_by_the_post_office_it_went_to():
    escalations = escalated()
    with escalations.session() as session:
        row = session.get(Escalation, LEAD)
        assert (row.owner, row.province_code, row.reason, row.returned_by) == (
            "BDT-24", "24", "insufficient_contacts", None)


def test_a_post_office_hands_its_lead_back_to_tct_and_the_new_owner_is_announced():
    escalations = escalated()
    emitted = escalations.handle("escalation-returned", lead_id=LEAD, returned_by="BDT-24", note="không có SĐT")
    (announced,) = emitted.of("lead-escalated")
    assert (announced.owner, announced.reason, announced.province_code, announced.detail) == (
        "TCT", "returned_to_tct", "24", "không có SĐT")
    assert [output.key for output in emitted.outputs] == [LEAD.encode()]
    # The announcement comes back to the service, as it would from the topic: TCT owns the lead.
    assert escalations.handle("lead-escalated", **announced.model_dump(exclude={"envelope"})).outputs == []
    assert owner(escalations) == "TCT"
    with escalations.session() as session:
        assert session.get(Escalation, LEAD).returned_by == "BDT-24"


def test_a_post_office_that_does_not_own_the_lead_cannot_hand_it_back():
    escalations = escalated(owner="BDT-52", province_code="52", reason="unreachable")
    emitted = escalations.handle("escalation-returned", lead_id=LEAD, returned_by="BDT-79", note="nhầm tỉnh")
    assert emitted.events == []
    (dead,) = emitted.dead_letters
    headers = dict(dead.headers)
    assert dead.topic == "escalation-returned.dlq" and dead.key == LEAD.encode()
    assert headers["error"] == f"lead {LEAD} is owned by BDT-52, not by BDT-79".encode()
    assert (headers["error_type"], headers["tries"]) == (b"Rejected", b"1")
    assert owner(escalations) == "BDT-52"


def test_a_lead_never_escalated_cannot_be_handed_back():
    emitted = InProcess(load("escalations")).handle("escalation-returned", lead_id=LEAD, returned_by="BDT-24")
    (dead,) = emitted.dead_letters
    assert b"was never escalated" in dict(dead.headers)["error"]


def test_a_lead_escalated_again_keeps_one_record_with_its_latest_owner_and_reason():
    escalations = escalated()
    escalations.handle("lead-escalated", lead_id=LEAD, owner="BDT-24", province_code="24", reason="unreachable")
    with escalations.session() as session:
        (row,) = session.query(Escalation).all()
        assert (row.owner, row.reason) == ("BDT-24", "unreachable")
