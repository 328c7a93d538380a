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
import struct

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from shared.service import Output
from shared.store import StoreSession, execute_by_keys, in_keys
from shared.store.models import ProcessedEvent


# A row's outputs: a format byte, then for each output its lengths (topic, header count, key, value)
# and bytes, then its headers' (name, value). Half the size of the JSON with hex values that rows
# written before it hold, and a sixth of its cost to write; those rows (a JSON list: "[") read as before.
_BINARY = b"\x01"
_OUTPUT = struct.Struct("<HHII")
_HEADER = struct.Struct("<HI")


def pack(outputs: list[Output]) -> bytes:
    parts = [_BINARY]
    for topic, key, value, headers in outputs:
        name = topic.encode()
        parts += (_OUTPUT.pack(len(name), len(headers), len(key), len(value)), name, key, value)
        for header, header_value in headers:
            encoded = header.encode()
            parts += (_HEADER.pack(len(encoded), len(header_value)), encoded, header_value)
    return b"".join(parts)


def unpack(blob: bytes) -> list[Output]:
    blob = bytes(blob)  # a driver may hand a memoryview
    if blob[:1] != _BINARY:
        return [Output(t, bytes.fromhex(k), bytes.fromhex(v), tuple((h, bytes.fromhex(hv)) for h, hv in hs))
                for t, k, v, hs in json.loads(blob)]
    outputs, at = [], 1
    while at < len(blob):
        topic_length, header_count, key_length, value_length = _OUTPUT.unpack_from(blob, at)
        key_at = at + _OUTPUT.size + topic_length
        value_at = key_at + key_length
        topic, key, value = blob[at + _OUTPUT.size:key_at].decode(), blob[key_at:value_at], blob[value_at:value_at + value_length]
        at = value_at + value_length
        headers = []
        for _ in range(header_count):
            name_length, header_length = _HEADER.unpack_from(blob, at)
            header_value_at = at + _HEADER.size + name_length
            headers.append((blob[at + _HEADER.size:header_value_at].decode(),
                            blob[header_value_at:header_value_at + header_length]))
            at = header_value_at + header_length
        outputs.append(Output(topic, key, value, tuple(headers)))
    return outputs


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
