"""The replies service's handlers in-process: an e-mail reply becomes a call to the number it leaves,
an opt-out, or an escalation; no reply within the wait → the post office, once. The segmenter, on
the same store, sends the e-mail and sets the wait."""

from __future__ import annotations

import datetime as dt

from services import load
from shared.config import Policies, Settings
from tests.handlers import InProcess
from tests.unit.services.test_segmenter import changed, granted, normalized

LEAD, EMAIL = "mst:0400000029", "ketoan@anphat.com.vn"
WAIT = dt.timedelta(hours=72)


def emailed(wait: dt.timedelta = WAIT) -> tuple[InProcess, InProcess]:
    """An e-mail-only lead of Cần Thơ, its e-mail sent; the segmenter and the replies service share a store."""
    segmenter = InProcess(load("segmenter"), policies=Policies(Settings(), reply_wait=wait))
    granted(segmenter, EMAIL)
    sent = segmenter.handle("lead-normalized", **normalized(lead_id=LEAD, emails=[EMAIL], province_code="92",
                                                            outreach_list="email_only"))
    assert sent.types() == ["email-requested"]
    return segmenter, InProcess(load("replies"), store=segmenter)


def reply(replies: InProcess, text: str, from_address: str = EMAIL):
    return replies.handle("email-replied", lead_id=LEAD, from_address=from_address, text=text, replied_at=replies.now)


def test_a_reply_leaving_a_phone_number_becomes_a_call_to_it_without_marketing_consent():
    _, replies = emailed()
    emitted = reply(replies, "Chào anh chị, vui lòng gọi cho tôi qua số 0903 123 456 giờ hành chính.")
    (request,) = emitted.of("call-requested")
    assert (request.subject_id, request.to, request.attempt, request.purpose) == (
        LEAD, "+84903123456", 1, "consultation")
    assert [output.key for output in emitted.outputs] == [LEAD.encode()]


def test_a_reply_leaving_a_mobile_and_a_landline_gets_the_mobile_called_first():
    _, replies = emailed()
    emitted = reply(replies, "Gọi số bàn (0292) 3822 123 hoặc di động 0903.123.456")
    assert [request.to for request in emitted.of("call-requested")] == ["+84903123456"]


def test_a_reply_asking_to_stop_withdraws_email_consent_at_once_and_hands_the_lead_to_its_post_office():
    _, replies = emailed()
    emitted = reply(replies, "Xin ngừng gửi email quảng cáo cho chúng tôi.", from_address=" KeToan@AnPhat.com.vn ")
    assert emitted.types() == ["consent-changed", "lead-escalated"]
    (consent,), (escalated,) = emitted.of("consent-changed"), emitted.of("lead-escalated")
    assert (consent.contact, consent.channel, consent.status, consent.source) == (
        EMAIL, "email", "withdrawn", "email-reply")
    assert (escalated.reason, escalated.owner) == ("refused", "BDT-92")
    # The opt-out is keyed by the address, so it stays in order with every other change of its consent.
    assert [output.key for output in emitted.outputs] == [EMAIL.encode(), LEAD.encode()]


def test_a_reply_without_a_phone_number_is_escalated_as_unreachable():
    _, replies = emailed()
    (escalated,) = reply(replies, "Chúng tôi quan tâm, xin gửi thêm thông tin.").of("lead-escalated")
    assert (escalated.reason, escalated.owner) == ("unreachable", "BDT-92")


def test_a_number_left_by_an_erased_person_is_not_called():
    segmenter, replies = emailed()
    changed(segmenter, "+84903123456", "erased")
    emitted = reply(replies, "Gọi 0903 123 456")
    assert emitted.types() == ["lead-escalated"]
    assert "erased" in emitted.of("lead-escalated")[0].detail


def test_no_reply_within_the_wait_escalates_the_lead_once():
    _, replies = emailed()
    replies.advance(WAIT - dt.timedelta(minutes=1))
    assert replies.fire_deadlines().outputs == []
    replies.advance(dt.timedelta(minutes=1))
    fired = replies.fire_deadlines()
    (escalated,) = fired.of("lead-escalated")
    assert (escalated.lead_id, escalated.reason, escalated.owner) == (LEAD, "no_email_reply", "BDT-92")
    assert [output.key for output in fired.outputs] == [LEAD.encode()]
    replies.advance(WAIT)
    assert replies.fire_deadlines().outputs == []


def test_the_wait_is_the_configured_one():
    _, replies = emailed(wait=dt.timedelta(hours=1))
    replies.advance(dt.timedelta(hours=1))
    assert replies.fire_deadlines().types() == ["lead-escalated"]


def test_a_reply_within_the_wait_cancels_it():
    _, replies = emailed()
    reply(replies, "Gọi 0903 123 456")
    replies.advance(WAIT)
    assert replies.fire_deadlines().outputs == []
