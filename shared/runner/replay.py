"""Replay safety: the events a consumer group handled, with the outputs each produced.

A handler that writes the store commits its database transaction just before the batch's Kafka
transaction. When a crash or a rebalance falls between the two, the redelivered event is not
handled again: its stored outputs are produced again (same event ids), and the committed view
holds each once.
"""

from __future__ import annotations

import datetime as dt
import functools
import json

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from shared.service import Output
from shared.store import StoreSession, execute_by_keys, in_keys
from shared.store.models import ProcessedEvent


def pack(outputs: list[Output]) -> bytes:
    return json.dumps([[o.topic, o.key.hex(), o.value.hex(), [[k, v.hex()] for k, v in o.headers]]
                       for o in outputs]).encode()


def unpack(blob: bytes) -> list[Output]:
    return [Output(t, bytes.fromhex(k), bytes.fromhex(v), tuple((h, bytes.fromhex(hv)) for h, hv in hs))
            for t, k, v, hs in json.loads(blob)]


def already_processed(session: Session, group: str, event_ids: set[str]) -> dict[str, list[Output]]:
    """The outputs of the events among `event_ids` that the group handled before."""
    rows = execute_by_keys(session, _processed_statement, event_ids, group=group)
    return {event_id: unpack(outputs) for event_id, outputs in rows}


@functools.cache
def _processed_statement(dialect: str) -> Select:
    """Built once: every batch of every store-writing service asks it."""
    return select(ProcessedEvent.event_id, ProcessedEvent.outputs).where(
        ProcessedEvent.consumer == bindparam("group"), in_keys(dialect, ProcessedEvent.event_id, "keys"))


def record_processed(session: Session, group: str, event_id: str, outputs: list[Output], at: dt.datetime) -> None:
    session.add(ProcessedEvent(consumer=group, event_id=event_id, processed_at=at, outputs=pack(outputs)))


def record_all_processed(session: StoreSession, group: str, handled: dict[str, list[Output]],
                         at: dt.datetime) -> None:
    """Records a batch's handled events as staged rows, written at once (one statement per table)."""
    for event_id, outputs in handled.items():
        session.stage(ProcessedEvent, consumer=group, event_id=event_id, processed_at=at, outputs=pack(outputs))
    session.write_staged()
