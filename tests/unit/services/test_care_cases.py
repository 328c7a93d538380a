"""The care-cases service's handlers in-process: supported customers' requests open cases routed to
an owner with an SLA; a breached SLA escalates through the deadlines; a resolved matter reopens."""

from __future__ import annotations

import datetime as dt

from services import load
from shared.store.models import CareCase
from tests.handlers import InProcess

HOURS = dt.timedelta(hours=1)
SAIGON, DANANG, NAMELESS = "mst:0314409058", "mst:0300000018", "name:xx:1a2b3c"


def care() -> InProcess:
    service = InProcess(load("care-cases"))
    for lead, tax_code, province in ((SAIGON, "0314409058", "79"), (DANANG, "0300000018", "48"),
                                     (NAMELESS, None, None)):
        assert service.handle("customer-supported", lead_id=lead, tax_code=tax_code, province_code=province,
                              via="call").outputs == []
    return service


def request(service: InProcess, request_id: str, customer: str, kind: str):
    return service.handle("care-requested", request_id=request_id, customer_id=customer, kind=kind,
                          channel="hotline_1900", text="Yêu cầu hỗ trợ")


def case(service: InProcess, case_id: str) -> CareCase:
    with service.session() as session:
        return session.get(CareCase, case_id)


def test_a_request_opens_a_case_routed_to_its_owner_with_the_sla_of_its_kind():
    service = care()
    emitted = request(service, "r1", SAIGON, "pickup_urging")
    (opened,) = emitted.of("care-case-opened")
    assert (opened.case_id, opened.owner, opened.province_code, opened.reopened) == ("case-r1", "BDT-79", "79", False)
    assert opened.sla_due_at == service.now + 48 * HOURS
    assert [output.key for output in emitted.outputs] == [SAIGON.encode()]
    assert request(service, "r2", "0300000018", "complaint").of("care-case-opened")[0].owner == "COMPLAINTS"
    (consult,) = request(service, "r3", NAMELESS, "consult_service").of("care-case-opened")
    assert (consult.customer_id, consult.owner, consult.sla_due_at) == (NAMELESS, "HOTLINE", service.now + 24 * HOURS)


def test_a_request_from_a_customer_careflow_never_supported_is_dead_lettered_with_the_reason():
    emitted = request(care(), "r-unknown", "mst:0100233488", "complaint")
    assert emitted.events == []
    (dead,) = emitted.dead_letters
    assert dead.topic == "care-requested.dlq"
    assert b"not a supported customer" in dict(dead.headers)["error"]


def test_a_breached_sla_escalates_once_per_breach_up_the_ladder():
    service = care()
    request(service, "r2", DANANG, "complaint")
    service.advance(8 * HOURS - dt.timedelta(seconds=1))
    assert service.fire_deadlines().outputs == []
    service.advance(dt.timedelta(seconds=1))  # the complaint's 8 h, exactly
    first = service.fire_deadlines()
    (escalated,) = first.of("care-case-escalated")
    assert (escalated.level, escalated.from_owner, escalated.to_owner) == (1, "COMPLAINTS", "COMPLAINTS-LEAD")
    assert escalated.sla_due_at == service.now + 8 * HOURS
    assert [output.key for output in first.outputs] == [DANANG.encode()]
    assert service.fire_deadlines().outputs == []  # fired once
    service.advance(8 * HOURS)
    (again,) = service.fire_deadlines().of("care-case-escalated")
    assert (again.level, again.from_owner, again.to_owner) == (2, "COMPLAINTS-LEAD", "TCT")
    row = case(service, "case-r2")
    assert (row.owner, row.level, row.breaches) == ("TCT", 2, 2)


def test_the_sla_clock_stops_while_the_case_waits_on_the_customer_and_runs_on_after():
    service = care()
    request(service, "r3", NAMELESS, "consult_service")
    service.advance(4 * HOURS)
    service.handle("care-case-updated", case_id="case-r3", customer_id=NAMELESS, update="waiting_on_customer",
                   agent_id="CSKH-02", note="chờ khách gửi giấy tờ")
    service.advance(30 * HOURS)
    assert service.fire_deadlines().outputs == []
    assert case(service, "case-r3").status == "waiting_on_customer"
    service.handle("care-case-updated", case_id="case-r3", customer_id=NAMELESS, update="resumed")
    service.advance(20 * HOURS)  # the 20 h left of its 24 h
    assert service.fire_deadlines().types() == ["care-case-escalated"]


def test_a_resolved_case_does_not_breach_and_the_same_matter_within_the_window_reopens_it():
    service = care()
    request(service, "r1", SAIGON, "pickup_urging")
    service.advance(2 * HOURS)
    assert service.handle("care-case-resolved", case_id="case-r1", customer_id=SAIGON, outcome="resolved",
                          resolution="Khách đã nhận bưu gửi").outputs == []
    service.advance(48 * HOURS)
    assert service.fire_deadlines().outputs == []
    emitted = request(service, "r5", SAIGON, "pickup_urging")
    (reopened,) = emitted.of("care-case-opened")
    assert (reopened.case_id, reopened.request_id, reopened.reopened, reopened.owner) == (
        "case-r1", "r5", True, "BDT-79")
    assert reopened.sla_due_at == service.now + 48 * HOURS
    assert case(service, "case-r1").status == "open"
    service.advance(48 * HOURS)
    assert service.fire_deadlines().of("care-case-escalated")[0].case_id == "case-r1"  # its clock runs again


def test_the_same_matter_after_the_reopen_window_or_another_kind_opens_a_new_case():
    service = care()
    request(service, "r1", SAIGON, "pickup_urging")
    service.handle("care-case-resolved", case_id="case-r1", customer_id=SAIGON, outcome="resolved")
    assert request(service, "r6", SAIGON, "complaint").of("care-case-opened")[0].case_id == "case-r6"
    service.advance(8 * 24 * HOURS)
    (opened,) = request(service, "r7", SAIGON, "pickup_urging").of("care-case-opened")
    assert (opened.case_id, opened.reopened) == ("case-r7", False)


def test_an_update_naming_another_customer_or_an_assignment_without_an_agent_is_dead_lettered():
    service = care()
    request(service, "r1", SAIGON, "pickup_urging")
    wrong = service.handle("care-case-updated", case_id="case-r1", customer_id=DANANG, update="note")
    assert dict(wrong.dead_letters[0].headers)["error"] == f"no care case case-r1 for customer {DANANG}".encode()
    unassigned = service.handle("care-case-updated", case_id="case-r1", customer_id=SAIGON, update="assigned")
    assert b"needs the agent_id" in dict(unassigned.dead_letters[0].headers)["error"]
    service.handle("care-case-updated", case_id="case-r1", customer_id=SAIGON, update="assigned", agent_id="BDT-79-01")
    assert case(service, "case-r1").state["assignee"] == "BDT-79-01"
