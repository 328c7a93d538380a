"""Poison pills on the produce side: an event whose output cannot be produced goes to its dead-letter
topic with the reason, and the partition goes on."""

from __future__ import annotations

import base64
import os
import signal
import urllib.request

import pytest
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from shared.kafka import Publisher, ensure_all_topics
from shared.local.broker import free_port
from shared.operators import dlq
from tests.support import TopicReader, start_service

pytestmark = pytest.mark.integration


def test_outputs_too_large_or_refused_by_the_topic_dead_letter_their_event_and_the_rest_goes_on(
        settings_for, sqlite_url, tmp_path):
    metrics_port = free_port()
    settings = settings_for(sqlite_url, batch_size=100)
    bootstrap, prefix = settings.kafka_bootstrap_servers, settings.topic_prefix
    ensure_all_topics(bootstrap, settings.partitions, prefix)
    # The topic takes records of 20 kB at most: an output of 60 kB is refused by the broker itself.
    resource = ConfigResource("topic", prefix + "lead-normalized", incremental_configs=[
        ConfigEntry("max.message.bytes", "20000", incremental_operation=AlterConfigOpType.SET)])
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.incremental_alter_configs([resource])[resource].result(30)
    huge = "Công ty " + "A" * 1_200_000  # ~1.2 MB, accepted compressed on the way in, as issue 16 found
    refused = "Công ty " + base64.b64encode(os.urandom(45_000)).decode()  # ~60 kB, incompressible
    names = [f"Công ty {i}" for i in range(40)]
    names[10], names[30] = huge, refused
    with Publisher(bootstrap, "test", prefix, **{"message.max.bytes": 5_000_000}) as publisher:
        for i, name in enumerate(names):
            publisher.publish("lead-imported", lead_id=f"mst:{i:010d}", source="big.csv", row_number=i + 1,
                              company_name=name, phones="0912 345 678")
    normalized = TopicReader(bootstrap, prefix + "lead-normalized")
    dead = TopicReader(bootstrap, prefix + "lead-imported.dlq")
    service = start_service("normalizer", settings, log_path=tmp_path / "normalizer.log",
                            extra_env={"CAREFLOW_METRICS_PORT": str(metrics_port)})
    try:
        normalized.read_until(38, timeout=90, settle=2)
        dead.read_until(2, timeout=30, settle=1)
        assert service.poll() is None, (tmp_path / "normalizer.log").read_text()[-3000:]
        # Each dead letter counted once, although the batch of the refused output ran twice.
        scraped = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
        counted = {line.split("{")[1].split("}")[0]: float(line.rsplit(" ", 1)[1]) for line in scraped.splitlines()
                   if line.startswith("careflow_events_dead_lettered_total{")}
        assert counted == {f'error="{kind}",service="normalizer",topic="{prefix}lead-imported"': 1.0
                           for kind in ("OutputTooLarge", "Unproducible")}, counted
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(30)
        normalized.close()
        dead.close()
    assert sorted(e.lead_id for e in normalized.events("lead-normalized")) == sorted(
        f"mst:{i:010d}" for i in range(40) if i not in (10, 30))
    reasons = {dict(m.headers())["source_offset"]: dict(m.headers()) for m in dead.messages}
    assert len(dead.messages) == 2
    types = sorted(h["error_type"].decode() for h in reasons.values())
    assert types == ["OutputTooLarge", "Unproducible"], types
    errors = " ".join(h["error"].decode() for h in reasons.values())
    assert "exceeds" in errors and "too large" in errors.lower(), errors

    # The operator's view: list by error type, show with personal data masked, replay each once.
    letters = dlq.dead_letters(bootstrap, prefix, topic="lead-imported")
    assert sorted(letter.error_type for letter in letters) == ["OutputTooLarge", "Unproducible"]
    assert [letter.error_type for letter in dlq.dead_letters(bootstrap, prefix, error_type="Unproducible")] == [
        "Unproducible"]
    shown = dlq.show(letters[0], prefix)
    assert "091***78" in shown["event"] and "345" not in shown["event"]
    done, skipped = dlq.replay(bootstrap, letters, "ops-1", prefix)
    assert (len(done), skipped) == (2, [])
    done, skipped = dlq.replay(bootstrap, letters, "ops-2", prefix)
    assert done == [] and sorted(skipped) == sorted(letter.coordinates for letter in letters)
    source = TopicReader(bootstrap, prefix + "lead-imported")
    try:
        replays = [m for m in source.read_until(42, timeout=30, settle=1) if dict(m.headers() or ()).get("replayed_from")]
    finally:
        source.close()
    assert sorted(dict(m.headers())["replayed_from"].decode() for m in replays) == sorted(
        letter.coordinates for letter in letters)
