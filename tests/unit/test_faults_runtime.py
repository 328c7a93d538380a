"""The runtime's fault handling that needs no broker: bounded client calls, stop signals, cluster ids,
outputs too large for the broker."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from shared.local import broker
from shared.runner.loop import Calls, CallTimedOut, Stopping


def test_a_cluster_id_never_begins_with_a_dash(monkeypatch):
    # 0xF8 encodes to '-' first in URL-safe base64: the storage tool would read it as an option.
    drawn = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=b"\x10" + bytes(15))])
    monkeypatch.setattr(broker.uuid, "uuid4", lambda: next(drawn))
    assert broker.cluster_id() == "EAAAAAAAAAAAAAAAAAAAAA"


def test_a_bounded_call_returns_its_value_or_raises_its_error():
    calls = Calls(lambda: False)
    assert calls("add", 5, lambda a, b: a + b, 2, 3) == 5
    with pytest.raises(ZeroDivisionError):
        calls("divide", 5, lambda: 1 / 0)


def test_a_call_that_never_returns_is_given_up_at_its_bound_and_the_next_call_still_runs():
    calls = Calls(lambda: False)
    stuck = threading.Event()
    started = time.monotonic()
    with pytest.raises(CallTimedOut, match="send_offsets_to_transaction did not return within 1 s"):
        calls("send_offsets_to_transaction", 1, stuck.wait)
    assert time.monotonic() - started < 3
    assert calls("next", 5, lambda: "fine") == "fine"  # on a new worker: the old one is still stuck
    stuck.set()


def test_a_call_queued_without_waiting_runs_before_the_next_and_its_error_reaches_it():
    # As a batch's offsets go into its transaction while the batch is handled, and the commit after them.
    calls = Calls(lambda: False)
    order: list[str] = []
    offsets_sent = calls.submit(lambda: (time.sleep(0.2), order.append("offsets")))
    order.append("handled")
    assert calls("commit", 5, lambda: (offsets_sent.result(), order.append("commit"))) is not None
    assert order == ["handled", "offsets", "commit"]
    refused = calls.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        calls("commit", 5, refused.result)


def test_a_stop_signal_is_honoured_within_a_second_while_a_call_hangs():
    stopping = threading.Event()
    calls = Calls(stopping.is_set)
    threading.Timer(0.3, stopping.set).start()
    started = time.monotonic()
    with pytest.raises(Stopping):
        calls("commit_transaction", 60, threading.Event().wait)
    assert time.monotonic() - started < 1.5


def test_an_output_too_large_dead_letters_its_event_and_undoes_its_store_changes():
    from sqlalchemy import select

    from shared.store.models import Escalation
    from tests.handlers import InProcess
    from tests.integration.relay_service import SERVICE as RELAY

    relay = InProcess(RELAY, max_message_bytes=5000)
    emitted = relay.send(relay.event("lead-imported", lead_id="mst:1", source="t.csv", row_number=1,
                                     company_name="Công ty " + "A" * 6000),
                         relay.event("lead-imported", lead_id="mst:2", source="t.csv", row_number=2,
                                     company_name="Công ty nhỏ"))
    assert [e.lead_id for e in emitted.of("lead-escalated")] == ["mst:2"]
    [dead] = emitted.dead_letters
    headers = dict(dead.headers)
    assert headers["error_type"] == b"OutputTooLarge" and b"exceeds the 5000-byte" in headers["error"]
    with relay.sessions() as session:
        assert session.scalars(select(Escalation.lead_id)).all() == ["mst:2"]
