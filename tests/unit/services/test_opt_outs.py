"""Opt-outs from every channel, in-process: an SMS stop word, a call ending "do not call again",
agreed hours; each opt-out recalls what careflow asked for and was not yet carried out."""

from __future__ import annotations

import datetime as dt

import pytest

from services import load
from shared.operators.imports import consent_fields
from tests.handlers import InProcess
from tests.unit.services.test_segmenter import granted, normalized

MOBILE = "+84912345678"


def _pair(tmp_path, other: str):
    segmenter = InProcess(load("segmenter"))
    return segmenter, InProcess(load(other), store=segmenter)


def _relay(events, to: InProcess):
    return to.send(*[to.event(e.envelope.event_type, **e.model_dump(exclude={"envelope"})) for e in events])


@pytest.mark.parametrize("text", ["TC", "HỦY QC", "stop", "Khong"])
def test_an_sms_stop_word_withdraws_sms_consent_and_recalls_the_pending_sms_and_nothing_else(tmp_path, text):
    segmenter, replies = _pair(tmp_path, "replies")
    granted(segmenter, MOBILE)
    planned = segmenter.handle("lead-normalized", **normalized(phones=[(MOBILE, "mobile")]))
    [sms] = planned.of("sms-requested")
    stop = replies.handle("sms-replied", msisdn="0912.345.678", text=text, replied_at=replies.now, shortcode="9029")
    [withdrawal] = stop.of("consent-changed")
    assert (withdrawal.contact, withdrawal.channel, withdrawal.status, withdrawal.source) == (
        MOBILE, "sms", "withdrawn", "sms-reply")
    [cancelled] = _relay([withdrawal], segmenter).of("outreach-cancelled")
    assert (cancelled.contact, cancelled.channel, cancelled.request_ids) == (MOBILE, "sms", [sms.envelope.event_id])


def test_a_reply_that_is_not_a_stop_changes_nothing_and_a_bad_number_is_dead_lettered(tmp_path):
    _, replies = _pair(tmp_path, "replies")
    assert replies.handle("sms-replied", msisdn=MOBILE, text="Cho hỏi giá dịch vụ", replied_at=replies.now).outputs == []
    assert len(replies.handle("sms-replied", msisdn="12", text="TC", replied_at=replies.now).dead_letters) == 1


def test_a_call_ending_do_not_call_again_withdraws_call_consent_and_recalls_the_call(tmp_path):
    segmenter, calls = _pair(tmp_path, "calls")
    granted(segmenter, MOBILE)
    [call] = segmenter.handle("lead-normalized", **normalized(phones=[(MOBILE, "mobile")])).of("call-requested")
    ended = calls.handle("call-ended", call_id="c-1", subject_type="lead", subject_id="mst:0100233488", number=MOBILE,
                         direction="outbound", disposition="no_answer", do_not_call=True)
    [withdrawal] = ended.of("consent-changed")
    assert (withdrawal.channel, withdrawal.status, withdrawal.source) == ("call", "withdrawn", "call-ended")
    assert ended.of("call-requested") == []  # no retry: the customer said no
    [cancelled] = _relay([withdrawal], segmenter).of("outreach-cancelled")
    assert (cancelled.channel, cancelled.request_ids) == ("call", [call.envelope.event_id])


def test_agreed_hours_from_the_consent_list_let_a_call_happen_in_the_evening(tmp_path):
    fields = consent_fields("consent.csv", lambda: dt.datetime(2026, 3, 10, tzinfo=dt.timezone.utc))(
        1, {"contact": "0912 345 678", "channel": "call", "status": "granted", "agreed_hours": "từ 18h đến 20h30"})
    assert fields["agreed_hours"] == "18:00-20:30"
    segmenter = InProcess(load("segmenter"), now=dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.timezone.utc))  # 19:00 VN
    segmenter.handle("consent-changed", **fields)
    [call] = segmenter.handle("lead-normalized", **normalized(phones=[(MOBILE, "mobile")])).of("call-requested")
    assert call.not_before is None  # now, in the agreed evening window, though past 17:00
