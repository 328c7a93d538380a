"""The eligibility service's handlers in-process: on every answered call, prompt the agent (which
fields, how hard to try) or say why not. The subscriber directory, on the same store, keeps the
master data it reads."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event

from services import load
from tests.handlers import InProcess
from tests.unit.services.test_subscriber_directory import upserted

VN = dt.timezone(dt.timedelta(hours=7))
DAY = dt.datetime(2026, 5, 4, 9, 30, tzinfo=VN)


def eligibility() -> tuple[InProcess, InProcess]:
    directory = InProcess(load("subscriber-directory"))
    upserted(directory, "+84901000001", tier="standard", subscribed_since=dt.date(2024, 1, 10))
    upserted(directory, "+84901000002", gender="female", gender_provenance="declared")
    upserted(directory, "+84901000003", owner_type="company", tier="standard")
    upserted(directory, "+84901000004", subscription_type="prepaid", tier="standard",
             subscribed_since=dt.date(2018, 3, 3), kndl_member=True)
    return directory, InProcess(load("eligibility"), store=directory)


def answered(service: InProcess, call_id: str, msisdn: str, at: dt.datetime = DAY, **fields):
    fields = {"call_reason": "general", "caller_is_user": True, "customer_mood": "normal", "agent_id": "DTV-1",
              "channel": "call_centre", **fields}
    return service.handle("subscriber-call-answered", call_id=call_id, msisdn=msisdn, answered_at=at, **fields)


def test_an_individual_with_missing_fields_is_prompted_at_once_with_what_to_collect():
    _, service = eligibility()
    emitted = answered(service, "c1", "+84901000001")
    (prompt,) = emitted.of("profile-prompted")
    assert (prompt.fields_to_collect, prompt.priority, prompt.persuade) == (
        ["gender", "hobbies", "occupation"], False, False)
    assert "nghề nghiệp" in prompt.script and "+84901000001" in prompt.script
    assert (prompt.agent_id, prompt.channel) == ("DTV-1", "call_centre")
    assert [output.key for output in emitted.outputs] == [b"+84901000001"]


def test_priority_customers_are_to_be_persuaded_with_the_reasons_named():
    _, service = eligibility()
    (premium,) = answered(service, "c2", "+84901000002", DAY.astimezone(dt.timezone.utc)).of("profile-prompted")
    assert (premium.fields_to_collect, premium.persuade, premium.priority_reasons) == (
        ["hobbies", "occupation"], True, ["premium"])
    (loyal,) = answered(service, "c5", "+84901000004").of("profile-prompted")
    assert loyal.priority_reasons == ["kndl_member", "long_standing"]


def test_calls_that_are_not_targets_are_skipped_with_every_reason_and_keep_their_priority():
    _, service = eligibility()
    assert answered(service, "c3", "+84901000003").of("profile-skipped")[0].skip_reasons == ["company_owned"]
    (night,) = answered(service, "c4", "+84901000004", DAY.replace(hour=22)).of("profile-skipped")
    assert (night.skip_reasons, night.priority) == (["outside_hours"], True)
    (angry,) = answered(service, "c7", "+84901000001", call_reason="complaint", customer_mood="difficult",
                        caller_is_user=False).of("profile-skipped")
    assert angry.skip_reasons == ["caller_not_user", "complaint", "difficult_customer"]


def test_a_profile_completed_by_careflow_is_not_asked_again():
    directory, service = eligibility()
    directory.handle("subscriber-profile-updated", msisdn="+84901000001", channel="call_centre", gender="male",
                     gender_provenance="agent_assessed", occupation="Công nhân", occupation_provenance="declared",
                     hobbies=["Nhóm thể thao"], hobbies_provenance="declared", change_reason="Khách hàng yêu cầu")
    assert answered(service, "c8", "+84901000001").of("profile-skipped")[0].skip_reasons == ["profile_complete"]


def test_a_call_from_a_subscriber_not_in_the_directory_is_dead_lettered():
    _, service = eligibility()
    emitted = answered(service, "c6", "+84999999999")
    (dead,) = emitted.dead_letters
    assert dead.topic == "subscriber-call-answered.dlq" and b"not in the directory" in dict(dead.headers)["error"]


def test_a_batch_of_calls_reads_the_directory_once_and_answers_each_call_as_if_alone():
    directory, service = eligibility()
    calls = [("b1", "+84901000001"), ("b2", "+84901000003"), ("b3", "+84999999999"), ("b4", "+84901000001"),
             ("b5", "+84901000004")]
    alone = {call_id: answered(service, call_id, msisdn) for call_id, msisdn in calls}
    statements: list[str] = []

    def executed(_connection, _cursor, statement, *_):
        statements.append(statement)
    engine = directory.sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", executed)
    emitted = service.send(*(service.event("subscriber-call-answered", call_id=call_id, msisdn=msisdn, answered_at=DAY,
                                           call_reason="general", caller_is_user=True, customer_mood="normal",
                                           agent_id="DTV-1", channel="call_centre") for call_id, msisdn in calls))
    event.remove(engine, "before_cursor_execute", executed)
    assert sum("FROM subscribers" in s for s in statements) == 1
    expected = [(kind, e.call_id, e.model_dump(exclude={"envelope"})) for c, _ in calls for kind, e in alone[c].events]
    assert [(kind, e.call_id, e.model_dump(exclude={"envelope"})) for kind, e in emitted.events] == expected
    (dead,) = emitted.dead_letters
    assert b"is not in the directory" in dict(dead.headers)["error"]
