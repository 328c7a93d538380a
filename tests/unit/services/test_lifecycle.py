"""The lead's lifecycle across services in-process, on one store: every service asks it first."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from services import load
from shared.store.models import Deadline, LeadStateRow, LifecycleRefusal
from tests.handlers import InProcess
from tests.unit.services.test_segmenter import EMAIL, granted, normalized

LEAD = "mst:0100233488"


def _services(tmp_path, *names):
    """Services sharing one store, as deployed."""
    first = InProcess(load(names[0]))
    return [first, *(InProcess(load(name), store=first) for name in names[1:])]


def _state(service: InProcess) -> tuple[str, str | None]:
    with service.session() as session:
        row = session.get(LeadStateRow, LEAD)
        return row.stage, row.owner


def _refusals(service: InProcess) -> list[tuple[str, str, str]]:
    with service.session() as session:
        return [(r.service, r.happening, r.stage) for r in session.scalars(select(LifecycleRefusal))]


def test_an_email_only_lead_helped_on_the_hotline_is_not_escalated_when_the_reply_wait_ends(tmp_path):
    segmenter, calls, replies = _services(tmp_path, "segmenter", "calls", "replies")
    granted(segmenter, EMAIL)
    assert segmenter.handle("lead-normalized", **normalized(emails=[EMAIL], outreach_list="email_only")).types() == [
        "email-requested"]
    assert _state(segmenter) == ("in_outreach", None)
    hotline = calls.handle("call-ended", call_id="h-1", subject_type="lead", subject_id=LEAD, number="+84912345678",
                           direction="inbound_hotline", disposition="agent_resolved", agent_id="CSKH-1900")
    assert [e.via for e in hotline.of("customer-supported")] == ["hotline"]
    with calls.session() as session:
        assert session.scalar(select(Deadline.cancelled_at)) is not None  # the wait no longer applies
    replies.advance(dt.timedelta(days=30))
    assert replies.fire_deadlines().events == []
    assert _state(replies) == ("supported", None)
    # Helped twice on the hotline: announced once.
    assert calls.handle("call-ended", call_id="h-2", subject_type="lead", subject_id=LEAD, number="+84912345678",
                        direction="inbound_hotline", disposition="agent_resolved").events == []


def test_a_reply_after_the_hotline_support_withdraws_consent_but_escalates_nothing(tmp_path):
    segmenter, calls, replies = _services(tmp_path, "segmenter", "calls", "replies")
    granted(segmenter, EMAIL)
    segmenter.handle("lead-normalized", **normalized(emails=[EMAIL], outreach_list="email_only"))
    calls.handle("call-ended", call_id="h-1", subject_type="lead", subject_id=LEAD, number="+84912345678",
                 direction="inbound_hotline", disposition="agent_resolved")
    stop = replies.handle("email-replied", lead_id=LEAD, from_address=EMAIL, text="Xin đừng gửi nữa, hủy đăng ký",
                          replied_at=replies.now)
    assert stop.types() == ["consent-changed"]
    later = replies.handle("email-replied", lead_id=LEAD, from_address=EMAIL, text="Gọi tôi: 0912 345 678",
                           replied_at=replies.now)
    assert later.types() == []  # no call to a customer already helped
    assert _refusals(replies) == [("replies", "escalated", "supported"), ("replies", "outreach_started", "supported")]


def test_an_outbound_call_ending_after_the_lead_was_escalated_asks_for_no_more_calls(tmp_path):
    segmenter, calls = _services(tmp_path, "segmenter", "calls")
    segmenter.handle("lead-normalized", **normalized(phones=[("+84912345678", "mobile")]))  # no consent: escalated
    assert _state(segmenter) == ("escalated", "BDT-01")
    ended = calls.handle("call-ended", call_id="c-1", subject_type="lead", subject_id=LEAD, number="+84912345678",
                         direction="outbound", disposition="no_answer")
    assert ended.events == []
    assert _refusals(calls) == [("calls", "outreach_started", "escalated")]
    # ... but a customer reached all the same is supported.
    reached = calls.handle("call-ended", call_id="c-2", subject_type="lead", subject_id=LEAD, number="+84912345678",
                           direction="outbound", disposition="right_person")
    assert reached.types() == ["customer-supported"]


def test_a_hand_back_is_not_overwritten_by_a_later_escalation(tmp_path):
    segmenter, escalations = _services(tmp_path, "segmenter", "escalations")
    escalated = segmenter.handle("lead-normalized", **normalized(outreach_list="insufficient")).of("lead-escalated")
    escalations.send(*[escalations.event("lead-escalated", **e.model_dump(exclude={"envelope"})) for e in escalated])
    back = escalations.handle("escalation-returned", lead_id=LEAD, returned_by="BDT-01", note="không liên hệ được")
    assert [(e.owner, e.reason) for e in back.of("lead-escalated")] == [("TCT", "returned_to_tct")]
    escalations.send(*[escalations.event("lead-escalated", **e.model_dump(exclude={"envelope"})) for e in back.of("lead-escalated")])
    late = escalations.handle("lead-escalated", lead_id=LEAD, owner="BDT-01", province_code="01", reason="unreachable")
    assert late.events == [] and late.dead_letters == []
    assert _state(escalations) == ("returned_to_tct", "TCT")
    assert _refusals(escalations) == [("escalations", "escalated", "returned_to_tct")]
    again = escalations.handle("escalation-returned", lead_id=LEAD, returned_by="BDT-01")
    assert again.events == []


def test_a_reimported_inactive_enterprise_is_escalated_once(tmp_path):
    from shared.config import Policies, Settings
    from tests.unit.services.test_normalizer import Registry, imported, record

    normalizer = InProcess(load("normalizer"),
                           policies=Policies(Settings(), enrichment=[Registry(record("0100233488", active=False))]))
    escalations = InProcess(load("escalations"), store=normalizer)
    first = normalizer.handle("lead-imported", **imported(company_name="DNTN Hưng Thịnh", address="Thái Bình"))
    assert [(e.owner, e.reason) for e in first.of("lead-escalated")] == [("BDT-33", "inactive")]
    escalations.send(*[escalations.event("lead-escalated", **e.model_dump(exclude={"envelope"}))
                       for e in first.of("lead-escalated")])
    assert _state(escalations) == ("escalated", "BDT-33")
    again = normalizer.handle("lead-imported", **imported(company_name="DNTN Hưng Thịnh", address="Thái Bình"))
    assert again.events == [] and again.dead_letters == []
