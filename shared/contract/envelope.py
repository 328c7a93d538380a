"""The envelope every event carries, built one way for services, imports and peers alike."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel

from shared.clock import to_millis, utc_now
from shared.contract.registry import Envelope, constructor, contract

_new_envelope = constructor(Envelope)


def envelope(event_type: str, producer: str, *, occurred_at: dt.datetime | None = None,
             event_id: str | None = None, correlation_id: str | None = None,
             causation_id: str | None = None) -> Envelope:
    # Not validated: every field is a string or (after to_millis) a datetime, and the Avro encode
    # every envelope goes through rejects anything else (fastavro raises on a non-string string).
    return _new_envelope(envelope_fields(event_type, producer, event_id or str(uuid.uuid4()),
                                         to_millis(occurred_at or utc_now()), correlation_id, causation_id))


def envelope_fields(event_type: str, producer: str, event_id: str, occurred_at: dt.datetime,
                    correlation_id: str | None, causation_id: str | None) -> dict:
    """The envelope's fields as plain values (a follow-on event's, written by the event writer, which
    checks them as it writes them); an event that starts a chain is its own correlation."""
    return {"event_id": event_id, "event_type": event_type, "occurred_at": occurred_at, "producer": producer,
            "correlation_id": correlation_id or event_id, "causation_id": causation_id}


def build_event(event_type: str, envelope_: Envelope, **fields) -> BaseModel:
    """The event's model, validated against its schema's types."""
    return contract(event_type).model(envelope=envelope_, **fields)
