"""Process B end to end: the directory, eligibility and profile updater as processes on the real
broker; the test plays the CRM, the telephony platform and the agent desktop.

Each handler's paths (every skip reason, the priority reasons, a subscriber not in the directory, a
value outside the catalogue, a call-back checked against consent) are tested in-process
(tests/unit/services); this journey keeps what only the services together show: the directory the
CRM fills decides the prompts, a collection updates the directory, the ledger records the decisions."""

from __future__ import annotations

import datetime as dt
import signal

import pytest
from sqlalchemy import select

from shared.kafka import Publisher, ensure_all_topics
from shared.store import session_factory
from shared.store.models import ProfileDecision, Subscriber
from tests.support import TopicReader, start_service, wait_for

pytestmark = pytest.mark.e2e
VN = dt.timezone(dt.timedelta(hours=7))
SUBSCRIBERS = {
    "+84901000001": dict(owner_type="individual", subscription_type="prepaid", tier="standard",
                         subscribed_since=dt.date(2024, 1, 10), kndl_member=False),
    "+84901000002": dict(owner_type="individual", subscription_type="postpaid", tier="premium",
                         subscribed_since=dt.date(2023, 5, 1), kndl_member=False, gender="female",
                         gender_provenance="declared"),
    "+84901000003": dict(owner_type="company", subscription_type="postpaid", tier="standard",
                         subscribed_since=dt.date(2020, 1, 1), kndl_member=False),
    "+84901000004": dict(owner_type="individual", subscription_type="prepaid", tier="standard",
                         subscribed_since=dt.date(2018, 3, 3), kndl_member=True),
}


@pytest.fixture
def process_b(settings_for, sqlite_url, tmp_path):
    settings = settings_for(sqlite_url)
    ensure_all_topics(settings.kafka_bootstrap_servers, settings.partitions, settings.topic_prefix)
    services = [start_service(name, settings, log_path=tmp_path / f"{name}.log")
                for name in ("subscriber-directory", "eligibility", "profile-updater", "profile-ledger")]
    yield settings
    for process in services:
        process.send_signal(signal.SIGTERM)
    assert [p.wait(30) for p in services] == [0, 0, 0, 0]


def test_answered_calls_prompt_or_skip_then_collections_update_the_profile(process_b, sqlite_url):
    settings = process_b
    publisher = Publisher(settings.kafka_bootstrap_servers, "test", settings.topic_prefix)
    for msisdn, fields in SUBSCRIBERS.items():
        publisher.publish("subscriber-upserted", msisdn=msisdn, **fields)
    publisher.flush()
    sessions = session_factory(sqlite_url)

    def stored():
        with sessions() as session:
            return {s.msisdn: s for s in session.scalars(select(Subscriber))}
    wait_for(lambda: len(stored()) == len(SUBSCRIBERS), message="directory")

    day = dt.datetime(2026, 5, 4, 9, 30, tzinfo=VN)
    calls = [("c1", "+84901000001", day), ("c2", "+84901000002", day.astimezone(dt.timezone.utc)),
             ("c3", "+84901000003", day), ("c4", "+84901000004", day.replace(hour=22)),
             ("c5", "+84901000004", day.replace(hour=11))]
    for call_id, msisdn, answered_at in calls:
        publisher.publish("subscriber-call-answered", call_id=call_id, msisdn=msisdn, answered_at=answered_at,
                          call_reason="general", caller_is_user=True, customer_mood="normal", agent_id="DTV-1",
                          channel="call_centre")
    publisher.flush()

    prompted = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix + "profile-prompted")
    skipped = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix + "profile-skipped")
    prompted.read_until(3, timeout=60)
    skipped.read_until(2, timeout=30)
    prompts = {p.call_id: p for p in prompted.events("profile-prompted")}
    skips = {s.call_id: s for s in skipped.events("profile-skipped")}
    assert set(prompts) == {"c1", "c2", "c5"}
    assert prompts["c1"].fields_to_collect == ["gender", "hobbies", "occupation"] and not prompts["c1"].persuade
    assert prompts["c2"].fields_to_collect == ["hobbies", "occupation"]
    assert prompts["c2"].persuade and prompts["c2"].priority_reasons == ["premium"]
    assert prompts["c5"].priority_reasons == ["kndl_member", "long_standing"]
    assert "nghề nghiệp" in prompts["c1"].script
    assert skips["c3"].skip_reasons == ["company_owned"]
    assert skips["c4"].skip_reasons == ["outside_hours"]

    publisher.publish("profile-collected", call_id="c1", msisdn="+84901000001", outcome="provided",
                      channel="call_centre", gender="male", gender_source="agent_assessed", occupation="Kỹ sư, kỹ thuật viên",
                      hobbies=["Nhóm thể thao", "Nhóm âm nhạc"])
    publisher.publish("profile-collected", call_id="c2", msisdn="+84901000002", outcome="refused",
                      channel="call_centre")
    publisher.publish("profile-collected", call_id="c5", msisdn="+84901000004", outcome="dropped",
                      channel="call_centre")
    publisher.flush()
    updates_reader = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix + "subscriber-profile-updated")
    callbacks = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix + "call-requested")
    updates = {u.msisdn: u for u in updates_reader.events("subscriber-profile-updated")
               } if updates_reader.read_until(2, timeout=60) else {}
    assert updates["+84901000001"].hobbies == ["Nhóm thể thao", "Nhóm âm nhạc"]
    assert updates["+84901000001"].gender_provenance == "agent_assessed"
    assert updates["+84901000001"].occupation_provenance == "declared"
    refused = updates["+84901000002"]
    assert refused.occupation == "Văn phòng (Thư ký, Thư viện, Bưu điện...)" and refused.hobbies == ["Nhóm du lịch"]
    assert refused.occupation_provenance == refused.hobbies_provenance == "refusal_default"
    assert refused.change_reason == "Khách hàng yêu cầu"
    callback = callbacks.read_until(1, timeout=30) and callbacks.events("call-requested")[0]
    assert (callback.subject_type, callback.to, callback.purpose) == ("subscriber", "+84901000004", "profile_callback")
    wait_for(lambda: stored()["+84901000002"].occupation_provenance == "refusal_default", message="directory update")
    subscriber = stored()["+84901000001"]
    assert (subscriber.gender, subscriber.occupation, subscriber.hobbies_provenance) == ("male", "Kỹ sư, kỹ thuật viên", "declared")

    def decisions() -> dict[str, ProfileDecision]:
        with sessions() as session:
            return {d.call_id: d for d in session.scalars(select(ProfileDecision))}

    wait_for(lambda: {"c1", "c4"} <= decisions().keys(), message="the profile ledger's decisions")
    assert decisions()["c4"].skip_reasons == ["outside_hours"] and decisions()["c1"].prompted
    assert decisions()["c1"].channel == "call_centre"
    for reader in (prompted, skipped, updates_reader, callbacks):
        reader.close()
