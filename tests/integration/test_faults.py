"""Faults production brings, on a broker of the test's own: with the lead pipeline (normalizer) and
answered calls (eligibility) flowing as processes, the broker is killed, paused, or (3 nodes) loses its
partition leader or its active controller. The services must go on by themselves — no restart, no
operator — and the read_committed view must hold every output exactly once (by lead id and call id).
Each test prints the time the services took to recover."""

from __future__ import annotations

import collections
import datetime as dt
import signal
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient

from shared.config import Settings
from shared.contract import codec
from shared.kafka import Publisher, ensure_all_topics
from shared.local.broker import KafkaBroker
from shared.store import migrate, session_factory
from shared.store.models import Subscriber
from tests.support import start_service

pytestmark = pytest.mark.integration
VN = dt.timezone(dt.timedelta(hours=7))
LEADS, CALLS = 3000, 300
OUTPUTS = {"lead-normalized": "lead_id", "lead-escalated": "lead_id",
           "profile-prompted": "call_id", "profile-skipped": "call_id"}


class Flow:
    """Leads and answered calls published, normalizer and eligibility running, outputs read as they commit."""

    def __init__(self, bootstrap: str, tmp_path: Path, **overrides):
        url = f"sqlite:///{tmp_path / 'careflow.db'}"
        migrate(url)
        self.settings = Settings(KAFKA_BOOTSTRAP_SERVERS=bootstrap, DATABASE_URL=url, partitions=3, batch_size=100,
                                 topic_prefix=f"f{uuid.uuid4().hex[:6]}.", **overrides)
        ensure_all_topics(bootstrap, self.settings.partitions, self.settings.topic_prefix)
        self._subscribers(url)
        self._publish()
        env = {"CAREFLOW_TRANSACTION_TIMEOUT_MS": str(self.settings.transaction_timeout_ms),
               "CAREFLOW_KAFKA_CALL_TIMEOUT_SECONDS": "10"}
        self.services = [start_service(name, self.settings, extra_env=env, log_path=tmp_path / f"{name}.log")
                         for name in ("normalizer", "eligibility")]
        self.logs = [tmp_path / f"{name}.log" for name in ("normalizer", "eligibility")]
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4().hex}",
                                  "isolation.level": "read_committed", "auto.offset.reset": "earliest"})
        self.consumer.subscribe([self.settings.topic_prefix + t for t in OUTPUTS])
        self.seen: collections.Counter = collections.Counter()
        self.arrivals: list[float] = []

    def _subscribers(self, url: str) -> None:
        with session_factory(url).begin() as session:
            session.add_all(Subscriber(msisdn=self._msisdn(i), owner_type="individual", subscription_type="prepaid",
                                       tier="standard", subscribed_since=dt.date(2020, 1, 1), kndl_member=False,
                                       hobbies=[], updated_at=dt.datetime.now(dt.timezone.utc)) for i in range(CALLS))

    @staticmethod
    def _msisdn(i: int) -> str:
        return f"+849010{i:05d}"

    def _publish(self) -> None:
        day = dt.datetime(2026, 5, 4, 10, 0, tzinfo=VN)
        with Publisher(self.settings.kafka_bootstrap_servers, "test", self.settings.topic_prefix) as publisher:
            for i in range(LEADS):
                publisher.publish("lead-imported", lead_id=f"mst:{i:010d}", source="faults.csv", row_number=i + 1,
                                  company_name=f"Công ty {i}", address="Hà Nội", phones="0912 345 678" if i % 2 else "")
                if i % (LEADS // CALLS) == 0:
                    n = i // (LEADS // CALLS)
                    publisher.publish("subscriber-call-answered", call_id=f"call-{n}", msisdn=self._msisdn(n),
                                      answered_at=day, call_reason="general", caller_is_user=True,
                                      customer_mood="normal", agent_id="DTV-1", channel="call_centre")

    def read(self, seconds: float, enough: int | None = None) -> None:
        """Reads for `seconds`, or until `enough` outputs were seen: a fault is injected with work in flight."""
        until = time.monotonic() + seconds
        while time.monotonic() < until and (enough is None or sum(self.seen.values()) < enough):
            for message in self.consumer.consume(50, timeout=0.2):
                if message.error() is None:
                    event_type = message.topic()[len(self.settings.topic_prefix):]
                    self.seen[getattr(codec.decode(event_type, message.value()), OUTPUTS[event_type])] += 1
                    self.arrivals.append(time.monotonic())

    def wait_for_outputs(self, count: int, timeout: float) -> None:
        self.read(timeout, enough=count)
        assert sum(self.seen.values()) >= count, f"{sum(self.seen.values())} of {count} outputs in {timeout} s"

    def in_flight(self) -> int:
        """Outputs not yet seen; the fault tests need some, or they would test nothing."""
        left = LEADS + CALLS - sum(self.seen.values())
        assert left > 0, "every output was committed before the fault: the flow is too quick for this test"
        return left

    def recovered_after(self, moment: float) -> float:
        """Seconds from `moment` to the first output committed after it."""
        return min((t for t in self.arrivals if t > moment), default=moment) - moment  # 0: nothing was left

    def assert_exactly_once_and_alive(self) -> None:
        self.wait_for_outputs(LEADS + CALLS, timeout=180)
        self.read(3)  # anything extra would show now
        duplicated = [key for key, n in self.seen.items() if n > 1]
        assert len(self.seen) == LEADS + CALLS, f"lost: {LEADS + CALLS - len(self.seen)}"
        assert not duplicated, f"duplicated: {duplicated[:5]}"
        for service, log in zip(self.services, self.logs):
            assert service.poll() is None, f"a service died:\n{log.read_text()[-3000:]}"

    def close(self) -> None:
        for service in self.services:
            if service.poll() is None:
                service.send_signal(signal.SIGTERM)
        for service in self.services:
            service.wait(30)
        self.consumer.close()


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    with KafkaBroker(tmp_path_factory.mktemp("kafka"), heap="512m") as broker:
        yield broker


@pytest.fixture
def flow(broker, tmp_path):
    flow = Flow(broker.bootstrap, tmp_path, transaction_timeout_ms=10000)
    yield flow
    flow.close()


def test_a_broker_killed_and_restarted_on_its_data(broker, flow):
    flow.wait_for_outputs(LEADS // 5, timeout=90)
    in_flight = flow.in_flight()
    broker.kill()
    time.sleep(5)
    broker.restart()
    back = time.monotonic()
    flow.assert_exactly_once_and_alive()
    print(f"\nbroker SIGKILL + restart: {in_flight} in flight, 0 lost, 0 duplicated, "
          f"recovered {flow.recovered_after(back):.1f} s after the broker was back")


def test_a_broker_paused_past_the_transaction_timeout(broker, flow):
    flow.wait_for_outputs(LEADS // 5, timeout=90)
    in_flight = flow.in_flight()
    broker.pause()
    time.sleep(15)  # the transaction timeout is 10 s here
    broker.resume()
    back = time.monotonic()
    flow.assert_exactly_once_and_alive()
    print(f"\nbroker SIGSTOP 15 s (transaction timeout 10 s): {in_flight} in flight, 0 lost, 0 duplicated, "
          f"recovered {flow.recovered_after(back):.1f} s after SIGCONT")


@pytest.mark.faults
def test_the_leader_and_then_the_active_controller_killed_on_a_three_node_cluster(tmp_path):
    with KafkaBroker(tmp_path / "kafka", heap="384m", nodes=3) as cluster:
        flow = Flow(cluster.bootstrap, tmp_path, transaction_timeout_ms=10000)
        try:
            flow.wait_for_outputs(LEADS // 5, timeout=90)
            in_flight = flow.in_flight()
            leader = _leader_of_most(cluster.bootstrap, flow.settings.topic_prefix + "lead-imported")
            cluster.kill(leader)
            killed = time.monotonic()
            flow.wait_for_outputs(LEADS // 2, timeout=120)
            print(f"\n3 nodes, leader (node {leader}) SIGKILL: {in_flight} in flight, "
                  f"recovered {flow.recovered_after(killed):.1f} s after the kill")
            cluster.restart(leader)
            controller = cluster.active_controller()
            assert controller is not None
            cluster.kill(controller)
            killed = time.monotonic()
            flow.assert_exactly_once_and_alive()
            print(f"3 nodes, active controller (node {controller}) SIGKILL: 0 lost, 0 duplicated, "
                  f"recovered {flow.recovered_after(killed):.1f} s after the kill")
        finally:
            flow.close()


def _leader_of_most(bootstrap: str, topic: str) -> int:
    partitions = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10).topics[topic].partitions
    return collections.Counter(p.leader for p in partitions.values()).most_common(1)[0][0]


def test_postgresql_restarted_mid_stream(settings_for, postgres_server, tmp_path):
    """A store-writing service (the runtime's relay: one escalation row per lead) on PostgreSQL, which
    restarts under it: no event dead-lettered for it, every output once, every row once."""
    import os
    import subprocess

    from sqlalchemy import create_engine, func, select, text

    from shared.store.models import Escalation
    from tests.postgres import fresh_database, postgres_bindir
    from tests.integration.test_runtime import RELAY, escalation_count, publish_leads
    from tests.support import TopicReader, wait_for

    if os.environ.get("CAREFLOW_TEST_POSTGRES_URL"):
        pytest.skip("the PostgreSQL server is not ours to restart")
    url = fresh_database(postgres_server)
    migrate(url)
    settings = settings_for(url, batch_size=50)
    total = 1500
    publish_leads(settings, [f"Công ty {i}" for i in range(total)])
    engine = create_engine(postgres_server)
    with engine.connect() as connection:
        data = connection.execute(text("SHOW data_directory")).scalar()
    engine.dispose()
    user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    service = start_service(RELAY, settings, extra_env={"RELAY_SECONDS_PER_EVENT": "0.003"},
                            log_path=tmp_path / "relay.log")
    reader = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix + "lead-escalated")
    dead = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix + "lead-imported.dlq")
    try:
        wait_for(lambda: escalation_count(url) >= 300, message="the relay to get going")
        restarted = time.monotonic()
        # The log file named again: without it the new server would write to (and hold) our pipe.
        subprocess.run([*user, str(postgres_bindir() / "pg_ctl"), "-D", data, "-l", f"{data}/server.log", "-m", "fast",
                        "-w", "restart"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        back = time.monotonic()
        back_wall = time.time()
        reader.read_until(total, timeout=120, settle=2)
        assert service.poll() is None, (tmp_path / "relay.log").read_text()[-3000:]
        dead.read_until(1, timeout=1)
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(30)
        reader.close()
        dead.close()
    counts = collections.Counter(e.lead_id for e in reader.events("lead-escalated"))
    assert len(counts) == total and max(counts.values()) == 1, "outputs lost or duplicated"
    assert dead.messages == [], "an event was dead-lettered for a store restart"
    with session_factory(url)() as session:
        assert session.scalar(select(func.count()).select_from(Escalation)) == total
    after = [m.timestamp()[1] / 1000 - back_wall for m in reader.messages if m.timestamp()[1] / 1000 > back_wall]
    print(f"\nPostgreSQL restart ({back - restarted:.1f} s) under a store-writing service: "
          f"{total - len(reader.messages) + len(after)} in flight, 0 lost, 0 duplicated, "
          f"first output {min(after):.1f} s after the server was back")
