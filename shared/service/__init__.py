"""What a service author imports: `Service` (a consumer group's handlers), the `Context` a handler
sees, `StoreAccess`, and `Rejected` for an event the handler will never accept.

A handler is a plain function `(event, ctx) -> None`: it reads and writes the store through
`ctx.session`, decides with `ctx.policies` and the domain, and emits follow-on events with
`ctx.emit`. The runner (`shared.runner`) drives it; tests drive it in-process (`tests.support`).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NamedTuple

from pydantic import BaseModel
from sqlalchemy.orm import Session

from shared.clock import Clock
from shared.config import Policies
from shared.contract import contract
from shared.contract.codec import encode_emitted
from shared.contract.envelope import uuid_text
from shared.store.models import Deadline

_EVENT_IDS = uuid.UUID("0d5c5a4e-8a57-4c35-9d0f-6f1f0b7c2a11")


_NAMESPACE = _EVENT_IDS.bytes
_TIME_ORDERED = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[78]")  # a UUIDv7's or v8's first 14 characters


def derived_event_id(cause_id: str, position: int) -> str:
    """The id of the `position`-th event emitted for the event `cause_id`, the same in every replay: RFC 4122's
    SHA-1 name-based id (uuid5) of "cause/position", without the UUID object. A cause with a time-ordered id
    (a UUIDv7, `new_event_id`, or one derived from one) passes its time on: the id keeps the cause's first
    48 bits, the hash the rest, as a UUIDv8 (RFC 9562's own layout), so follow-on events sort as their causes."""
    digits = hashlib.sha1(_NAMESPACE + f"{cause_id}/{position}".encode()).hexdigest()
    if len(cause_id) == 36 and _TIME_ORDERED.match(cause_id):
        return uuid_text(f"{cause_id[:8]}{cause_id[9:13]}{digits[12:32]}", 8)
    return uuid_text(digits, 5)


class Rejected(Exception):
    """An event the handler will never accept (unknown customer, value outside a catalogue):
    it goes to the dead-letter topic with this reason at once, without retries."""


class UndeclaredEvent(Exception):
    """A handler emitted an event type its service does not declare in `Service.emits`: the
    cluster's ACLs (`careflow acl plan`) would refuse to let it write that topic."""


class ReadOnlyStore(Exception):
    """A handler of a service that reads the store only (StoreAccess.READ) tried to change it."""


class Output(NamedTuple):
    """A record to produce: the runner produces a batch's outputs in its Kafka transaction. A named
    tuple: made for every event a service emits, in half a frozen dataclass's time."""

    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


class Context:
    """What a handler sees besides its event: the clock, the store session, the policies, and `emit`."""

    def __init__(self, service: str, cause_id: str, correlation_id: str, clock: Clock, session: Session | None,
                 policies: Policies, topic_prefix: str = "", emits: frozenset[str] | None = None):
        self.service = service
        self._emits = emits
        self.topic_prefix = topic_prefix
        self.session = session
        self.policies = policies
        self._clock = clock
        self._cause_id = cause_id
        self._correlation_id = correlation_id
        self.outputs: list[Output] = []

    def now(self):
        return self._clock()

    def emit(self, event_type: str, **fields: Any) -> str:
        """Emits a follow-on event and returns its id, which derives from the cause, so a replay
        emits the same event. Each field is checked against its schema's type as it is written (a
        wrong one: FieldTypeError naming it); no model of the event is built."""
        if self._emits is not None and event_type not in self._emits:
            raise UndeclaredEvent(f"{self.service} emitted {event_type}, which its Service does not declare in emits")
        spec = contract(event_type)
        event_id = derived_event_id(self._cause_id, len(self.outputs))
        value, key = encode_emitted(spec, fields, event_id, event_type, self._clock(), self.service,
                                    self._correlation_id, self._cause_id)
        self.outputs.append(Output(self.topic_prefix + spec.topic, key.encode(), value))
        return event_id


class StoreAccess(Enum):
    NONE = "none"    # consume → produce only
    READ = "read"    # reads reference data (the subscriber directory): a read transaction per batch
    WRITE = "write"  # one write transaction per batch, with the processed-event records that make replays safe


Handler = Callable[[BaseModel, Context], None]
DeadlineHandler = Callable[[Deadline, Context], None]


@dataclass(frozen=True)
class Service:
    """A careflow service: a consumer group with a handler per consumed event type.

    `name` is the one name of the service: its folder (`services/<name with _>`), its CLI name, its
    consumer group, its transactional ids and its metrics label (see `services.REGISTRY`)."""

    name: str
    handlers: Mapping[str, Handler]
    # The event types its handlers emit: the topics its principal may write (`careflow acl plan`).
    emits: tuple[str, ...] = ()
    store: StoreAccess = StoreAccess.WRITE
    # Deadline kinds this service fires, and what firing one does.
    deadline_handlers: Mapping[str, DeadlineHandler] = field(default_factory=dict)
    # Loads what a batch's handlers will look up, a query per table (StoreSession.prefetch),
    # instead of a query per event and row.
    prefetch: Callable[[list[BaseModel], Session], None] | None = None

    @property
    def writes(self) -> bool:
        return self.store is StoreAccess.WRITE or bool(self.deadline_handlers)
