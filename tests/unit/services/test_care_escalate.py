"""An agent escalates a care case before its SLA runs out (care-case-updated with escalate)."""

from __future__ import annotations

from services import load
from tests.handlers import InProcess

CUSTOMER = "mst:0100109106"


def opened() -> tuple[InProcess, object]:
    cases = InProcess(load("care-cases"))
    cases.handle("customer-supported", lead_id=CUSTOMER, tax_code="0100109106", province_code="01", via="hotline")
    (case,) = cases.handle("care-requested", request_id="r1", customer_id=CUSTOMER, kind="complaint",
                           channel="hotline", text=None).of("care-case-opened")
    return cases, case


def test_an_agent_escalates_an_open_case_one_step_up_the_ladder():
    cases, case = opened()
    (escalated,) = cases.handle("care-case-updated", case_id=case.case_id, customer_id=CUSTOMER, update="note",
                                agent_id="cskh", note="khách yêu cầu lãnh đạo", escalate=True).of("care-case-escalated")
    assert escalated.case_id == case.case_id and escalated.to_owner != escalated.from_owner


def test_a_paused_case_cannot_be_escalated():
    cases, case = opened()
    cases.handle("care-case-updated", case_id=case.case_id, customer_id=CUSTOMER, update="waiting_on_customer",
                 agent_id="cskh", note=None)
    assert cases.handle("care-case-updated", case_id=case.case_id, customer_id=CUSTOMER, update="note",
                        agent_id="cskh", note="?", escalate=True).dead_letters
