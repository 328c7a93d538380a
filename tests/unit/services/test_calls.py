"""The calls service's handlers in-process: what follows each ended call to a lead — supported, the
next call, or the post office. The segmenter, on the same store, plans the lead's first call and
keeps the contacts and consent the calls service reads."""

from __future__ import annotations

import datetime as dt
import itertools

from services import load
from shared.store.models import CallTask, Contact
from tests.handlers import InProcess
from tests.unit.services.test_segmenter import changed, granted, normalized

LEAD = "mst:0100233488"
MOBILE, OTHER_MOBILE, LANDLINE = "+84912345678", "+84903111222", "+842438251234"
VN = dt.timezone(dt.timedelta(hours=7))
_CALL_IDS = itertools.count(1)


def outreach(*phones: tuple[str, str], consent: tuple[str, ...] | None = None) -> tuple[InProcess, InProcess]:
    """The segmenter and the calls service sharing a store, the lead's first call requested."""
    segmenter = InProcess(load("segmenter"))
    granted(segmenter, *(consent if consent is not None else [number for number, _ in phones]))
    segmenter.handle("lead-normalized", **normalized(lead_id=LEAD, phones=list(phones)))
    return segmenter, InProcess(load("calls"), store=segmenter)


def ended(calls: InProcess, number: str, disposition: str, **fields):
    fields = {"subject_type": "lead", "subject_id": LEAD, "direction": "outbound", **fields}
    return calls.handle("call-ended", call_id=f"call-{next(_CALL_IDS)}", number=number, disposition=disposition,
                        **fields)


def dialled(emitted) -> list[str]:
    return [request.to for request in emitted.of("call-requested")]


def test_the_right_person_reached_is_a_supported_customer_and_the_calls_stop():
    _, calls = outreach((MOBILE, "mobile"))
    emitted = ended(calls, MOBILE, "right_person")
    (supported,) = emitted.of("customer-supported")
    assert (supported.lead_id, supported.tax_code, supported.province_code, supported.via) == (
        LEAD, "0100233488", "01", "call")
    assert [output.key for output in emitted.outputs] == [LEAD.encode()]
    with calls.session() as session:
        assert session.get(CallTask, LEAD).status == "supported"


def test_a_wrong_person_on_the_mobile_leads_to_the_landline():
    _, calls = outreach((MOBILE, "mobile"), (OTHER_MOBILE, "mobile"), (LANDLINE, "landline"))
    emitted = ended(calls, MOBILE, "wrong_person")
    (request,) = emitted.of("call-requested")
    assert (request.to, request.attempt, request.reason) == (LANDLINE, 1, "next number after wrong_person")
    assert [output.key for output in emitted.outputs] == [LEAD.encode()]


def test_a_second_mobile_skipped_for_the_landline_is_still_called_when_the_landline_fails():
    _, calls = outreach((MOBILE, "mobile"), (OTHER_MOBILE, "mobile"), (LANDLINE, "landline"))
    ended(calls, MOBILE, "wrong_person")
    emitted = ended(calls, LANDLINE, "invalid_number")
    assert dialled(emitted) == [OTHER_MOBILE]
    assert emitted.of("lead-escalated") == []
    # Every number tried: only then does the post office take the lead over.
    (escalated,) = ended(calls, OTHER_MOBILE, "invalid_number").of("lead-escalated")
    assert escalated.reason == "unreachable"


def test_no_answer_is_retried_up_to_the_cap_on_a_schedule_then_the_lead_goes_to_its_post_office():
    _, calls = outreach((MOBILE, "mobile"))
    attempts = []
    for disposition in ("no_answer", "busy"):
        (retry,) = ended(calls, MOBILE, disposition).of("call-requested")
        attempts.append(retry.attempt)
        # One marketing call a day per number: the retry waits for the next day's window.
        assert retry.to == MOBILE and retry.not_before >= calls.now + dt.timedelta(hours=2)
        calls.now = retry.not_before
    assert attempts == [2, 3]
    emitted = ended(calls, MOBILE, "no_answer")
    assert emitted.types() == ["lead-escalated"]
    (escalated,) = emitted.of("lead-escalated")
    assert (escalated.reason, escalated.owner, escalated.detail) == ("unreachable", "BDT-01",
                                                                     "no number left after no_answer")
    with calls.session() as session:
        assert session.get(CallTask, LEAD).status == "escalated"


def test_an_invalid_number_is_marked_dead_and_the_next_number_is_called():
    _, calls = outreach((MOBILE, "mobile"), (LANDLINE, "landline"))
    assert dialled(ended(calls, MOBILE, "invalid_number")) == [LANDLINE]
    with calls.session() as session:
        assert session.get(Contact, (LEAD, MOBILE)).dead
        assert not session.get(Contact, (LEAD, LANDLINE)).dead


def test_numbers_the_contact_rules_forbid_are_skipped_to_the_next_one_that_may_be_called():
    # The mobile is dead; the second mobile is on the Do-Not-Call list: the landline is called.
    segmenter, calls = outreach((MOBILE, "mobile"), (OTHER_MOBILE, "mobile"), (LANDLINE, "landline"))
    changed(segmenter, OTHER_MOBILE, "dnc_listed")
    assert dialled(ended(calls, MOBILE, "invalid_number")) == [LANDLINE]


def test_when_every_number_left_is_blocked_the_lead_is_escalated_as_unreachable():
    # Wrong person on the mobile; the landline is on the Do-Not-Call list, the other mobile has no consent.
    segmenter, calls = outreach((MOBILE, "mobile"), (OTHER_MOBILE, "mobile"), (LANDLINE, "landline"),
                                consent=(MOBILE, LANDLINE))
    changed(segmenter, LANDLINE, "dnc_listed")
    emitted = ended(calls, MOBILE, "wrong_person")
    assert emitted.types() == ["lead-escalated"]
    assert emitted.of("lead-escalated")[0].detail == "no number left after wrong_person"


def test_a_number_whose_consent_was_withdrawn_is_not_retried_and_the_next_number_is_called():
    segmenter, calls = outreach((MOBILE, "mobile"), (LANDLINE, "landline"))
    changed(segmenter, MOBILE, "withdrawn", channel="call")
    emitted = ended(calls, MOBILE, "no_answer")
    assert dialled(emitted) == [LANDLINE]
    assert emitted.of("call-requested")[0].reason == "next number after invalid_number"


def test_a_customer_who_asks_to_be_called_back_is_called_at_the_time_they_gave():
    _, calls = outreach((MOBILE, "mobile"))
    at = dt.datetime(2026, 3, 12, 14, 0, tzinfo=VN)
    (request,) = ended(calls, MOBILE, "call_back", callback_at=at).of("call-requested")
    assert (request.to, request.attempt, request.not_before) == (MOBILE, 1, at)


def test_a_customer_who_declines_is_escalated_as_refused():
    _, calls = outreach((MOBILE, "mobile"), (LANDLINE, "landline"))
    emitted = ended(calls, MOBILE, "refused")
    assert emitted.types() == ["lead-escalated"] and emitted.of("lead-escalated")[0].reason == "refused"


def test_a_customer_helped_on_the_1900_hotline_is_supported_even_after_an_escalation():
    _, calls = outreach((MOBILE, "mobile"))
    ended(calls, MOBILE, "refused")
    emitted = ended(calls, MOBILE, "agent_resolved", direction="inbound_hotline", agent_id="CSKH-1900")
    assert emitted.types() == ["customer-supported"] and emitted.of("customer-supported")[0].via == "hotline"
    assert ended(calls, MOBILE, "no_answer", direction="inbound_hotline").events == []


def test_a_profile_call_back_ending_is_not_an_outreach_call():
    _, calls = outreach((MOBILE, "mobile"))
    assert ended(calls, MOBILE, "no_answer", subject_type="subscriber", subject_id=MOBILE).outputs == []
