"""The project's own broker launcher: a real Kafka from Maven Central, started and stopped clean."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from confluent_kafka.admin import AdminClient

from shared.local.broker import KafkaBroker, broker_from_environment, broker_libraries

pytestmark = pytest.mark.integration


def _broker_pids() -> set[int]:
    out = subprocess.run(["pgrep", "-f", "kafka.Kafka"], capture_output=True, text=True).stdout
    return {int(pid) for pid in out.split()}


def test_the_broker_starts_answers_and_stops_leaving_no_process_or_data(tmp_path):
    assert (broker_libraries() / ".complete").exists(), "the jars are cached for later starts"
    before = _broker_pids()
    broker = KafkaBroker()
    with broker:
        assert broker.process.pid in _broker_pids()
        metadata = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=10)
        assert [b.id for b in metadata.brokers.values()] == [1]
        assert broker.start_seconds < 60
    assert broker.process.returncode is not None
    assert _broker_pids() == before
    assert not broker.workdir.exists()


def test_a_killed_launcher_takes_its_broker_with_it():
    before = _broker_pids()
    launcher = subprocess.Popen([sys.executable, "-m", "shared.local.broker"], stdout=subprocess.PIPE, text=True)
    try:
        assert launcher.stdout.readline().startswith("broker at 127.0.0.1:")
        pids = _broker_pids() - before
        assert pids
        launcher.send_signal(signal.SIGKILL)
        launcher.wait()
        deadline = time.monotonic() + 30
        while _broker_pids() & pids and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not (_broker_pids() & pids), "a broker outlived its launcher"
    finally:
        if launcher.poll() is None:
            launcher.kill()


def test_kafka_bootstrap_servers_names_another_broker(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka.example:9092")
    with broker_from_environment() as bootstrap:
        assert bootstrap == "kafka.example:9092"
