import datetime as dt

import pytest

from shared.domain.calls import (CallPolicy, Dial, DialNumber, Disposition, Escalate, Supported, first_call,
                                 next_step)

NOW = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.timezone.utc)
MOBILE = DialNumber("+84912345678", is_landline=False)
MOBILE_2 = DialNumber("+84987654321", is_landline=False)
LANDLINE = DialNumber("+842438251234", is_landline=True)
POLICY = CallPolicy(attempts_per_number=3, retry_spacing=dt.timedelta(hours=2))


def test_the_mobile_is_called_first_even_when_listed_after_the_landline():
    assert first_call([LANDLINE, MOBILE]) == Dial(MOBILE.e164, 1, None, "first call")


def test_no_live_number_means_no_first_call():
    assert first_call([DialNumber("+84912345678", False, dead=True)]) is None


@pytest.mark.parametrize("disposition", [Disposition.RIGHT_PERSON, Disposition.AGENT_RESOLVED])
def test_reaching_the_right_person_supports_the_customer(disposition):
    assert next_step([MOBILE, LANDLINE], MOBILE.e164, 1, disposition, NOW) == Supported()


def test_a_wrong_person_on_the_mobile_moves_to_the_landline_before_another_mobile():
    step = next_step([MOBILE, MOBILE_2, LANDLINE], MOBILE.e164, 1, Disposition.WRONG_PERSON, NOW, policy=POLICY)
    assert step == Dial(LANDLINE.e164, 1, None, "next number after wrong_person")


@pytest.mark.parametrize("disposition", [Disposition.NO_ANSWER, Disposition.BUSY])
def test_no_answer_retries_the_same_number_on_schedule_until_the_cap(disposition):
    retry = next_step([MOBILE, LANDLINE], MOBILE.e164, 2, disposition, NOW, policy=POLICY)
    assert retry == Dial(MOBILE.e164, 3, NOW + dt.timedelta(hours=2), f"retry after {disposition.value}")
    after_cap = next_step([MOBILE, LANDLINE], MOBILE.e164, 3, disposition, NOW, policy=POLICY)
    assert after_cap == Dial(LANDLINE.e164, 1, None, f"next number after {disposition.value}")


def test_an_invalid_number_is_skipped_for_the_next_live_one():
    numbers = [DialNumber(MOBILE.e164, False, dead=True), DialNumber(MOBILE_2.e164, False, dead=True), LANDLINE]
    assert next_step(numbers, MOBILE.e164, 1, Disposition.INVALID_NUMBER, NOW).number == LANDLINE.e164


def test_when_no_number_is_left_the_lead_is_escalated_as_unreachable():
    step = next_step([MOBILE, LANDLINE], LANDLINE.e164, 3, Disposition.NO_ANSWER, NOW, policy=POLICY)
    assert isinstance(step, Escalate) and step.reason == "unreachable"


def test_a_call_back_is_dialled_at_the_asked_time():
    at = NOW + dt.timedelta(days=1)
    assert next_step([MOBILE], MOBILE.e164, 2, Disposition.CALL_BACK, NOW, callback_at=at) == Dial(
        MOBILE.e164, 1, at, "call back at the customer's request")


def test_a_refusal_is_escalated_with_its_reason():
    assert next_step([MOBILE], MOBILE.e164, 1, Disposition.REFUSED, NOW).reason == "refused"


def test_a_number_not_called_yet_is_tried_before_escalating_wherever_it_stands_in_the_order():
    called = frozenset({MOBILE.e164, LANDLINE.e164})
    step = next_step([MOBILE, MOBILE_2, LANDLINE], LANDLINE.e164, 1, Disposition.INVALID_NUMBER, NOW, called=called)
    assert step == Dial(MOBILE_2.e164, 1, None, "next number after invalid_number")
    every = called | {MOBILE_2.e164}
    assert isinstance(next_step([MOBILE, MOBILE_2, LANDLINE], MOBILE_2.e164, 3, Disposition.NO_ANSWER, NOW,
                                policy=POLICY, called=every), Escalate)
