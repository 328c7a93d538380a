"""Deadlines due while their services are SIGKILLed: the replies service's reply waits and the
care-cases service's SLAs. Each service is killed the moment it has claimed a due deadline in the
store, so the kill falls between the store's commit and Kafka's (or just after); restarted, each
deadline must escalate exactly once in the read_committed view — a firing that never reached Kafka
is published again with its event ids (REPUBLISH_AFTER), none fires twice. The two sides of that
kill are also made to happen for certain, in process: a firing committed to Kafka whose store mark
was lost, and a firing whose Kafka transaction failed."""

from __future__ import annotations

import collections
import datetime as dt
import signal
import time

import pytest
from sqlalchemy import func, select

from confluent_kafka import KafkaError, KafkaException
from sqlalchemy.exc import OperationalError

from shared.clock import set_file_clock
from shared.kafka import Publisher, ensure_all_topics
from shared.operators.cli import load_service
from shared.outreach.requests import REPLY_WAIT, reply_wait_id
from shared.runner import deadlines as firing
from shared.runner.deadlines import REPUBLISH_AFTER
from shared.runner.loop import ServiceRunner
from shared.store import deadlines, session_factory
from shared.store.models import CareCustomer, Deadline
from tests.support import TopicReader, start_service, wait_for

pytestmark = pytest.mark.integration
VN = dt.timezone(dt.timedelta(hours=7))
START = dt.datetime(2026, 6, 1, 8, 0, tzinfo=VN)
LEADS, CASES = 20, 10
KINDS = {"replies": REPLY_WAIT, "care-cases": "care_sla"}


def test_deadlines_due_fire_exactly_once_across_a_sigkill_of_replies_and_care_cases(settings_for, sqlite_url,
                                                                                      tmp_path):
    began = time.monotonic()
    clock_file = tmp_path / "clock"
    set_file_clock(clock_file, START)
    settings = settings_for(sqlite_url, clock_file=str(clock_file))
    ensure_all_topics(settings.kafka_bootstrap_servers, settings.partitions, settings.topic_prefix)
    sessions = session_factory(sqlite_url)
    _reply_waits_due(sessions, range(LEADS))
    env = {"CAREFLOW_CLOCK_FILE": str(clock_file), "CAREFLOW_TICK_SECONDS": "0.2"}

    def start(name: str):
        return start_service(name, settings, extra_env=env, log_path=tmp_path / f"{name}.log")

    def count(model, *where) -> int:
        with sessions() as session:
            return session.scalar(select(func.count()).select_from(model).where(*where))

    def claimed(kind: str) -> int:
        return count(Deadline, Deadline.kind == kind, Deadline.fired_at.is_not(None))

    services = {name: start(name) for name in KINDS}
    with Publisher(settings.kafka_bootstrap_servers, "test-hotline", settings.topic_prefix) as publisher:
        for i in range(CASES):
            publisher.publish("customer-supported", lead_id=f"mst:{i:010d}", tax_code=None, province_code="79",
                              via="call")
        publisher.flush()
        wait_for(lambda: count(CareCustomer) == CASES, timeout=30, message="the supported customers")
        for i in range(CASES):  # complaints: an 8 h SLA each
            publisher.publish("care-requested", request_id=f"r{i}", customer_id=f"mst:{i:010d}", kind="complaint",
                              channel="hotline_1900", text="Khiếu nại")
    wait_for(lambda: count(Deadline, Deadline.kind == "care_sla") == CASES, timeout=30,
             message="the complaints' SLA deadlines")

    set_file_clock(clock_file, START + dt.timedelta(hours=9))  # every reply wait and every SLA is due
    killed_at = {}
    while len(killed_at) < len(KINDS) and time.monotonic() - began < 60:
        for name, kind in KINDS.items():
            if name not in killed_at and claimed(kind):
                services[name].send_signal(signal.SIGKILL)
                killed_at[name] = claimed(kind)
        time.sleep(0.01)
    assert len(killed_at) == len(KINDS), "the services claimed no deadline"
    for service in services.values():
        service.wait(10)
    published = {name: count(Deadline, Deadline.kind == kind, Deadline.published.is_(True))
                 for name, kind in KINDS.items()}

    # Restarted past REPUBLISH_AFTER: a firing claimed but not published before the kill goes out now.
    set_file_clock(clock_file, START + dt.timedelta(hours=9) + REPUBLISH_AFTER + dt.timedelta(seconds=1))
    restarted = time.monotonic()
    services = {name: start(name) for name in KINDS}
    try:
        leads = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix + "lead-escalated")
        cases = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix + "care-case-escalated")
        cases.read_until(CASES, timeout=30)
        leads.read_until(LEADS, timeout=30, settle=3)
        cases.read_until(CASES * 10, timeout=1)  # any extra shows now
        escalated = leads.events("lead-escalated")
        breaches = cases.events("care-case-escalated")
        by_id = collections.Counter(e.envelope.event_id for e in escalated + breaches)
        assert [i for i, n in by_id.items() if n > 1] == []
        assert sorted(e.lead_id for e in escalated) == [f"mst:{i:010d}" for i in range(LEADS)]
        assert {e.reason for e in escalated} == {"no_email_reply"}
        by_level = collections.Counter((e.case_id, e.level) for e in breaches)
        assert [key for key, n in by_level.items() if n > 1] == []
        assert {e.case_id for e in breaches} == {f"case-r{i}" for i in range(CASES)}
        for name, service in services.items():
            assert service.poll() is None, (tmp_path / f"{name}.log").read_text()[-3000:]
        print(f"\nclaimed when killed: {killed_at}, of which published: {published}; every escalation committed "
              f"{time.monotonic() - restarted:.1f} s after the restart")
    finally:
        for service in services.values():
            service.send_signal(signal.SIGTERM)
        for service in services.values():
            service.wait(30)


def _reply_waits_due(sessions, leads: range) -> None:
    """E-mail-only leads waiting for a reply (the segmenter's deadlines), due an hour after START."""
    with sessions.begin() as session:
        for i in leads:
            lead = f"mst:{i:010d}"
            deadlines.schedule(session, reply_wait_id(lead), REPLY_WAIT, lead, START + dt.timedelta(hours=1),
                               {"correlation_id": lead})


def _escalations_once_each(settings, expected: int) -> list[str]:
    reader = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix + "lead-escalated")
    try:
        reader.read_until(expected * 2, timeout=5)  # any duplicate shows within this
        ids = collections.Counter(e.envelope.event_id for e in reader.events("lead-escalated"))
        assert [i for i, n in ids.items() if n > 1] == []
        return sorted(e.lead_id for e in reader.events("lead-escalated"))
    finally:
        reader.close()


@pytest.mark.parametrize("lost", ["the store mark", "the kafka transaction"])
def test_a_firing_left_unpublished_in_the_store_is_published_again_only_when_kafka_lacks_it(
        settings_for, sqlite_url, monkeypatch, lost):
    """'the store mark': the firing's transaction committed, then its mark in the store failed (as a
    SIGKILL between the two leaves it): the ledger holds it, it is not published again.
    'the kafka transaction': the transaction failed: the firing is published again, once."""
    settings = settings_for(sqlite_url)
    sessions = session_factory(sqlite_url)
    _reply_waits_due(sessions, range(5))
    now = [START + dt.timedelta(hours=9)]
    runner = ServiceRunner(load_service("replies"), settings, clock=lambda: now[0], sessions=sessions)
    runner.start()
    try:
        if lost == "the store mark":
            def mark_lost(*_args):
                raise OperationalError("UPDATE deadlines", {}, Exception("the store went away"))
            monkeypatch.setattr(firing, "mark_published", mark_lost)
            assert runner.fire_due_deadlines() == 5
        else:
            def commit_failed(_producer):
                raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "commit timed out"))
            monkeypatch.setattr(runner, "_commit", commit_failed)
            assert runner.fire_due_deadlines() == 0
        monkeypatch.undo()
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Deadline).where(Deadline.published)) == 0

        assert runner.fire_due_deadlines() == 0, "published again before REPUBLISH_AFTER"
        now[0] += REPUBLISH_AFTER + dt.timedelta(seconds=1)
        assert runner.fire_due_deadlines() == (0 if lost == "the store mark" else 5)
        assert runner.fire_due_deadlines() == 0

        assert _escalations_once_each(settings, 5) == [f"mst:{i:010d}" for i in range(5)]
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Deadline).where(Deadline.published)) == 5
    finally:
        runner.close()
