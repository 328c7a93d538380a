"""The consumer runtime against the real broker and a real store."""

from __future__ import annotations

import collections
import signal

import pytest
from confluent_kafka import KafkaException
from sqlalchemy import func, select

from shared.operators.cli import load_service
from shared.kafka import Publisher, ensure_all_topics
from shared.runner.loop import ServiceRunner
from shared.store import session_factory
from shared.store.models import Escalation, ProcessedEvent
from tests.support import TopicReader, committed_lag, start_service, wait_for

pytestmark = pytest.mark.integration
RELAY = "tests.integration.relay_service:SERVICE"
READER = "tests.integration.relay_service:READER"


def publish_leads(settings, names):
    """Creates the topics and publishes the leads as `settings` (a bare test broker, or its admin)."""
    ensure_all_topics(settings, settings.partitions, settings.topic_prefix)
    with Publisher(settings, "test", settings.topic_prefix) as publisher:
        for i, name in enumerate(names):
            publisher.publish("lead-imported", lead_id=f"mst:{i:010d}", source="test.csv", row_number=i + 1,
                              company_name=name)


def escalation_count(url):
    with session_factory(url)() as session:
        return session.scalar(select(func.count()).select_from(Escalation))


def sigkill_then_restart_is_exactly_once(settings, service_settings, database_url, log, total: int) -> None:
    """Publishes `total` leads (as `settings`), runs the relay as `service_settings`, kills it with
    SIGKILL mid-stream, restarts it: every output is there once, in the store and in Kafka."""
    publish_leads(settings, [f"Công ty {i}" for i in range(total)])
    first = start_service(RELAY, service_settings, extra_env={"RELAY_SECONDS_PER_EVENT": "0.002"}, log_path=log)
    wait_for(lambda: escalation_count(database_url) >= total // 5, message="the first instance to get going")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert escalation_count(database_url) < total, "the kill came too late to test anything"

    second = start_service(RELAY, service_settings, log_path=log)
    reader = TopicReader(settings, settings.topic_prefix + "lead-escalated")
    try:
        messages = reader.read_until(total, timeout=120, settle=3)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
        reader.close()
    counts = collections.Counter(e.lead_id for e in reader.events("lead-escalated"))
    assert len(counts) == total, "outputs lost"
    assert max(counts.values()) == 1, f"duplicated outputs: {[k for k, v in counts.items() if v > 1][:5]}"
    assert len(messages) == total
    assert escalation_count(database_url) == total


def test_sigkill_mid_stream_then_restart_yields_every_output_exactly_once(settings_for, database_url, tmp_path):
    settings = settings_for(database_url, batch_size=50)
    sigkill_then_restart_is_exactly_once(settings, settings, database_url, tmp_path / "relay.log", total=1500)


def test_a_read_only_service_is_exactly_once_by_the_kafka_transaction_alone(settings_for, sqlite_url, tmp_path):
    settings = settings_for(sqlite_url, batch_size=50)
    total = 1000
    publish_leads(settings, [f"Công ty {i}" for i in range(total - 1)] + ["WRITES"])
    reader = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix + "lead-escalated")
    dlq = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix + "lead-imported.dlq")
    log = tmp_path / "reader.log"
    first = start_service(READER, settings, extra_env={"RELAY_SECONDS_PER_EVENT": "0.002"}, log_path=log)
    second = None
    try:
        reader.read_until(200, timeout=60)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert len(reader.messages) < total - 1, "the kill came too late to test anything"
        second = start_service(READER, settings, log_path=log)
        reader.read_until(total - 1, timeout=120, settle=3)
        dead = dlq.read_until(1, timeout=30)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(30)
        reader.close()
        dlq.close()
    counts = collections.Counter(e.lead_id for e in reader.events("lead-escalated"))
    assert len(counts) == total - 1 and max(counts.values()) == 1, "outputs lost or duplicated"
    assert b"reads the store only" in dict(dead[0].headers())["error"]
    assert escalation_count(sqlite_url) == 0, "a read-only service wrote to the store"
    with session_factory(sqlite_url)() as session:
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 0


def test_poison_messages_go_to_the_dlq_with_their_reason_and_the_stream_goes_on(settings_for, sqlite_url):
    settings = settings_for(sqlite_url, max_tries=2, retry_backoff_seconds=0.01)
    ensure_all_topics(settings.kafka_bootstrap_servers, settings.partitions, settings.topic_prefix)
    topic = settings.topic_prefix + "lead-imported"
    with Publisher(settings.kafka_bootstrap_servers, "test", settings.topic_prefix) as publisher:
        # All on one key, hence one partition: the good lead after the poison ones must still pass.
        publisher._producer.produce(topic, key=b"mst:0000000001", value=b"not avro at all")
        publisher.publish("lead-imported", lead_id="mst:0000000001", source="t", row_number=1, company_name="REJECT")
        publisher.publish("lead-imported", lead_id="mst:0000000001", source="t", row_number=2, company_name="ALWAYS-FAILS")
        publisher.publish("lead-imported", lead_id="mst:0000000001", source="t", row_number=3, company_name="Good Co")
    service = start_service(RELAY, settings)
    dlq = TopicReader(settings.kafka_bootstrap_servers, topic + ".dlq")
    out = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix + "lead-escalated")
    try:
        dead = dlq.read_until(3, timeout=60, settle=1)
        good = out.read_until(1, timeout=30)
    finally:
        service.send_signal(signal.SIGTERM)
        assert service.wait(30) == 0
        dlq.close()
        out.close()
    assert [e.detail for e in out.events("lead-escalated")] == ["Good Co"]
    headers = [dict(m.headers()) for m in dead]
    assert [h["error_type"] for h in headers] == [b"DecodeError", b"Rejected", b"RuntimeError"]
    assert b"not Avro single-object encoding" in headers[0]["error"]
    assert b"rejected on purpose" in headers[1]["error"]
    assert b"a dependency is down" in headers[2]["error"] and headers[2]["tries"] == b"2"
    for h, message in zip(headers, dead):
        assert h["source_topic"] == topic.encode()
        assert int(h["source_offset"]) >= 0 and int(h["source_partition"]) >= 0
    assert dead[0].value() == b"not avro at all"
    assert len(good) == 1


def test_graceful_stop_commits_and_exits_zero(settings_for, sqlite_url):
    settings = settings_for(sqlite_url)
    publish_leads(settings, [f"Co {i}" for i in range(200)])
    service = start_service(RELAY, settings)
    wait_for(lambda: escalation_count(sqlite_url) == 200, message="all leads handled")
    # The store commits just before the Kafka transaction: a stop between the two leaves the batch to the next
    # owner (by design), so the stop comes once the offsets are committed too, and must not undo them.
    lag = lambda: committed_lag(settings.kafka_bootstrap_servers, settings.topic_prefix + "relay",  # noqa: E731
                                settings.topic_prefix + "lead-imported", settings.partitions)
    wait_for(lambda: lag() == 0, message="all offsets committed")
    service.send_signal(signal.SIGTERM)
    assert service.wait(30) == 0
    assert lag() == 0


def test_a_rebalance_between_two_instances_loses_and_duplicates_nothing(settings_for, sqlite_url, tmp_path):
    settings = settings_for(sqlite_url, batch_size=20)
    total = 1200
    slow = {"RELAY_SECONDS_PER_EVENT": "0.003"}
    publish_leads(settings, [f"Co {i}" for i in range(total)])
    first = start_service(RELAY, settings, instance_id="a", extra_env=slow, log_path=tmp_path / "a.log")
    wait_for(lambda: escalation_count(sqlite_url) >= 100, message="the first instance to start")
    second = start_service(RELAY, settings, instance_id="b", extra_env=slow, log_path=tmp_path / "b.log")
    wait_for(lambda: escalation_count(sqlite_url) >= 600, message="both instances to share the work")
    first.send_signal(signal.SIGTERM)  # a second rebalance: b takes everything back
    assert first.wait(30) == 0
    reader = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix + "lead-escalated")
    try:
        reader.read_until(total, timeout=120, settle=3)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
        reader.close()
    counts = collections.Counter(e.lead_id for e in reader.events("lead-escalated"))
    assert len(counts) == total and max(counts.values()) == 1
    with session_factory(sqlite_url)() as session:
        producers = session.scalar(select(func.count()).select_from(ProcessedEvent))
    assert producers == total


def test_an_instance_restarted_under_its_id_fences_every_producer_of_the_one_before(settings_for, sqlite_url):
    # Transactions take turns over several producers: a zombie left with any one of them unfenced
    # could still commit. The restart must fence them all, so that none of its transactions lands.
    settings = settings_for(sqlite_url, instance_id="same-host", transactional_producers=2)
    ensure_all_topics(settings.kafka_bootstrap_servers, settings.partitions, settings.topic_prefix)
    before = ServiceRunner(load_service(RELAY), settings)
    before.start()
    after = ServiceRunner(load_service(RELAY), settings)
    after.start()
    try:
        assert len(before.producers) == 2
        for producer in before.producers:
            producer.begin_transaction()
            producer.produce(settings.topic_prefix + "lead-escalated", key=b"mst:0000000001", value=b"zombie")
            with pytest.raises(KafkaException) as refused:
                producer.commit_transaction(30)
            assert refused.value.args[0].fatal(), refused.value
    finally:
        for runner in (before, after):
            runner.close()
