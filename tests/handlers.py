"""Services' handlers in-process: the real codec and BatchHandler, an in-memory SQLite store, a clock
the test moves, and no broker. What a service emits comes back decoded, in order."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, field
from functools import cache

from pydantic import BaseModel
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from shared.config import Policies, Settings
from shared.contract import build_event, contract, decode, encode, envelope
from shared.runner import deadlines
from shared.runner.batch import BatchHandler
from shared.service import Output, Service
from shared.store import session_factory
from shared.store.models import Base

# 10:00 in Vietnam on a Tuesday: inside every contact window.
MORNING = dt.datetime(2026, 3, 10, 3, 0, tzinfo=dt.timezone.utc)
# SQL compiled once for every InProcess store: each has an engine of its own, whose own cache would
# compile every statement again (most of a handler test's time).
_COMPILED: dict = {}


@cache
def _schema() -> sqlite3.Connection:
    """An in-memory database with the store's tables, created once: each new store is a copy of it
    (creating the tables again costs more than the handlers' work in a test)."""
    engine = create_engine("sqlite://", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    return engine.raw_connection().driver_connection


@dataclass
class Record:
    """A consumed record, as confluent-kafka's Message shows one."""

    _topic: str
    _value: bytes | None
    _key: bytes | None = None
    _offset: int = 0

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value


@dataclass
class Emitted:
    """What one batch produced: decoded events by type, and dead letters with their headers."""

    outputs: list[Output]
    events: list[tuple[str, BaseModel]] = field(default_factory=list)
    dead_letters: list[Output] = field(default_factory=list)

    def of(self, event_type: str) -> list[BaseModel]:
        return [event for kind, event in self.events if kind == event_type]

    def types(self) -> list[str]:
        return [kind for kind, _ in self.events]


class InProcess:
    def __init__(self, service: Service, *, policies: Policies | None = None, now: dt.datetime = MORNING,
                 database_url: str = "sqlite://", store: InProcess | None = None, **settings):
        """`store`: another service's InProcess whose database this one shares, as deployed services
        share theirs (the calls service reads the contacts and consent the segmenter keeps)."""
        self.now = now
        self.settings = Settings(DATABASE_URL=database_url, max_tries=1, retry_backoff_seconds=0, **settings)
        if store is not None:
            self.sessions = store.sessions
        else:
            self.sessions = session_factory(database_url, for_writes=True)
            engine = self.sessions.kw["bind"].execution_options(compiled_cache=_COMPILED)
            self.sessions.configure(bind=engine)
            if database_url == "sqlite://":
                connection = engine.raw_connection()
                _schema().backup(connection.driver_connection)
                connection.close()
            else:
                Base.metadata.create_all(engine)
        self.batch = BatchHandler(service, self.settings, policies or Policies(self.settings), lambda: self.now,
                                  self.sessions)
        self._offset = 0

    def event(self, event_type: str, **fields) -> BaseModel:
        return build_event(event_type, envelope(event_type, "test", occurred_at=self.now), **fields)

    def send(self, *events: BaseModel) -> Emitted:
        """Handles `events` as one batch; returns what it emitted."""
        records = []
        for event in events:
            spec = contract(event.envelope.event_type)
            records.append(Record(spec.topic, encode(spec.event_type, event), spec.key_of(event).encode(),
                                  self._offset))
            self._offset += 1
        return self._emitted(self.batch.handle(records))

    def handle(self, event_type: str, **fields) -> Emitted:
        return self.send(self.event(event_type, **fields))

    def raw(self, event_type: str, value: bytes | None) -> Emitted:
        return self._emitted(self.batch.handle([Record(event_type, value, b"k")]))

    def fire_deadlines(self) -> Emitted:
        fired, outputs = deadlines.fire_due(self.batch)
        deadlines.mark_published(self.batch, fired)
        return self._emitted(outputs)

    def advance(self, by: dt.timedelta) -> None:
        self.now += by

    def session(self):
        return self.sessions()

    @staticmethod
    def _emitted(outputs: list[Output]) -> Emitted:
        emitted = Emitted(outputs)
        for output in outputs:
            if output.topic.endswith(".dlq"):
                headers = dict(output.headers)
                if headers["error_type"] == b"UndeclaredEvent":  # a bug of the service, not of the event
                    raise AssertionError(headers["error"].decode())
                emitted.dead_letters.append(output)
            else:
                emitted.events.append((output.topic, decode(output.topic, output.value)))
        return emitted
