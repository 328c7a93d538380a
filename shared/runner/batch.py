"""One batch of consumed records through the service's handlers, with no Kafka in sight: decode,
skip what was handled before (its stored outputs stand in), handle the rest with retries, send what
cannot be handled to its dead-letter topic. What the batch should produce comes back as outputs;
the loop (`shared.runner.loop`) produces them and commits the offsets in one Kafka transaction.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from shared.clock import Clock, utc_now
from shared.config import Policies, Settings
from shared.contract import DecodeError, decode
from shared.observability import metrics
from shared.privacy import suppression
from shared.privacy.subjects import privacy_key
from shared.runner import replay
from shared.runner.dead_letters import Record, dead_letter, safe_reason
from shared.store import StoreSession
from shared.service import Context, Output, ReadOnlyStore, Rejected, Service, StoreAccess, UndeclaredEvent

log = logging.getLogger("careflow.runner")


class OutputTooLarge(ValueError):
    """A handler's output larger than the broker accepts: the event is dead-lettered and its store changes undone."""


# Errors that retrying cannot cure: bad input, not a passing fault.
PERMANENT_ERRORS = (Rejected, ReadOnlyStore, UndeclaredEvent, ValidationError, ValueError)


# A read-only service's handler runs with no savepoint around it.
_NO_SAVEPOINT = contextlib.nullcontext()
# In a read-only session's info: a handler changed the store before a rollback undid it.
_CHANGED = "careflow.changed"


def _changes(session: Session) -> bool:
    """Whether the session holds changes (objects added, rows staged, changed or deleted)."""
    return bool(session.new or session.dirty or session.deleted)


def source(record: Record) -> tuple[str, int, int]:
    """Where a record came from: how `BatchHandler.handle_each` is told which records to dead-letter."""
    return record.topic(), record.partition(), record.offset()


class BatchHandler:
    def __init__(self, service: Service, settings: Settings, policies: Policies, clock: Clock,
                 sessions: sessionmaker[Session] | None):
        self.service = service
        self.settings = settings
        self.policies = policies
        self.clock = clock
        self.sessions = sessions
        self.prefix = settings.topic_prefix
        self.group = self.prefix + service.name
        # Labelled once: a child lookup per event costs more than the observation itself.
        self._emits = frozenset(service.emits)
        self._writes = service.store is StoreAccess.WRITE
        self._handler_seconds = {event_type: metrics.HANDLER_SECONDS.labels(service.name, event_type)
                                 for event_type in service.handlers}

    def event_type(self, record: Record) -> str:
        return record.topic()[len(self.prefix):]

    def handle(self, records: list[Record], unproducible: dict[tuple[str, int, int], Exception] | None = None
               ) -> list[Output]:
        """The outputs of a batch; a store-writing service's changes are committed on return."""
        return [output for _, outputs in self.handle_each(records, unproducible) for output in outputs]

    def handle_each(self, records: list[Record], unproducible: dict[tuple[str, int, int], Exception] | None = None
                    ) -> list[tuple[Record, list[Output]]]:
        """Each record with its outputs. The records in `unproducible` (by `source`) had outputs the
        broker refused in an earlier try of this batch: they go to their dead-letter topic instead."""
        unproducible = unproducible or {}
        decoded = [(record, self._decode(record)) for record in records]
        if self.service.store is StoreAccess.WRITE and self.sessions is not None and not unproducible:
            per_record = self._handle_at_once(decoded)
            if per_record is not None:
                return per_record
        # A read-only service's store is checked for changes once a batch; a batch that changed it
        # is handled again with a check after each event, which dead-letters the one that did.
        handled = self._handle_batch(decoded, unproducible, check_each=False)
        return handled if handled is not None else self._handle_batch(decoded, unproducible, check_each=True)

    def _handle_batch(self, decoded: list[tuple[Record, BaseModel | DecodeError]],
                      unproducible: dict[tuple[str, int, int], Exception], check_each: bool
                      ) -> list[tuple[Record, list[Output]]] | None:
        """Each record with its outputs, in one unit of work; None when a read-only service's
        handlers changed the store and `check_each` is off (its session is rolled back)."""
        with self._unit_of_work() as session:
            events = [event for _, event in decoded if isinstance(event, BaseModel)]
            done = self._already_processed(session, events)
            fresh = [e for e in events if e.envelope.event_id not in done]
            suppressed = self._suppressed(session, fresh)
            if self.service.prefetch is not None and session is not None:
                self.service.prefetch([e for e in fresh if e.envelope.event_id not in suppressed], session)
            handled = [(record, [dead_letter(self.service.name, record, unproducible[source(record)], tries=1)]
                        if unproducible and source(record) in unproducible
                        else self._handle(record, event, session, done, suppressed, check_each))
                       for record, event in decoded]
            if not check_each and session is not None and not self._writes and (
                    session.info.pop(_CHANGED, False) or _changes(session)):
                session.rollback()
                return None
            return handled

    def _handle_at_once(self, decoded: list[tuple[Record, BaseModel | DecodeError]]
                        ) -> list[tuple[Record, list[Output]]] | None:
        """A store-writing batch in one go: no savepoint and no flush per event, the batch's rows
        written together at its end (a statement per table), the processed-event records included.
        None when any event failed: the transaction is rolled back whole, and the batch is handled
        again event by event (`_handle`: each in a savepoint, with retries and dead letters), so a
        failure costs what it always did and isolates the event that caused it."""
        outputs: list[tuple[Record, list[Output]]] = []
        timings: list[tuple[str, float]] = []
        try:
            with self.sessions.begin() as session:
                events = [event for _, event in decoded if isinstance(event, BaseModel)]
                done = self._already_processed(session, events)
                fresh = [e for e in events if e.envelope.event_id not in done]
                suppressed = self._suppressed(session, fresh)
                if self.service.prefetch is not None:
                    self.service.prefetch([e for e in fresh if e.envelope.event_id not in suppressed], session)
                handled: dict[str, list[Output]] = {}
                for record, event in decoded:
                    if isinstance(event, DecodeError):
                        outputs.append((record, [dead_letter(self.service.name, record, event, tries=0)]))
                        continue
                    event_id = event.envelope.event_id
                    if event_id in done or event_id in handled:  # redelivered, or twice in this batch
                        outputs.append((record, done.get(event_id) or handled[event_id]))
                        continue
                    topic = self.event_type(record)
                    if event_id in suppressed:
                        self._skip_suppressed(topic, event_id)
                        handled[event_id] = []
                        outputs.append((record, []))
                        continue
                    ctx = self.context(event_id, event.envelope.correlation_id, session)
                    started = time.perf_counter()
                    self.service.handlers[topic](event, ctx)
                    self._check_sizes(ctx.outputs)  # too large: the event-by-event pass dead-letters it
                    timings.append((topic, time.perf_counter() - started))
                    handled[event_id] = ctx.outputs
                    outputs.append((record, ctx.outputs))
                if isinstance(session, StoreSession):
                    session.insert_added()  # first: any statement before it would flush them one by one
                replay.record_all_processed(session, self.group, handled, utc_now())
        except Exception as exc:  # noqa: BLE001 — the event-by-event pass finds, retries or dead-letters it
            log.info("batch handled again event by event", extra={"error": safe_reason(exc)})
            return None
        for topic, seconds in timings:
            self._handler_seconds[topic].observe(seconds)
        return outputs

    def context(self, cause_id: str, correlation_id: str, session: Session | None) -> Context:
        return Context(self.service.name, cause_id, correlation_id, self.clock, session, self.policies, self.prefix,
                       self._emits)

    @contextlib.contextmanager
    def _unit_of_work(self) -> Iterator[Session | None]:
        if self.service.store is StoreAccess.NONE or self.sessions is None:
            yield None
        elif self.service.store is StoreAccess.READ:
            # Closed without a commit. No autoflush: what a handler changed stays pending, where the
            # batch's check for changes finds it, rather than written by the next event's query.
            with self.sessions(autoflush=False) as session:
                yield session
        else:
            with self.sessions.begin() as session:
                yield session

    def _already_processed(self, session: Session | None, events: list[BaseModel]) -> dict[str, list[Output]]:
        if session is None or self.service.store is not StoreAccess.WRITE:
            return {}
        return replay.already_processed(session, self.group, {event.envelope.event_id for event in events})

    def _suppressed(self, session: Session | None, events: list[BaseModel]) -> set[str]:
        """The ids of the events that name an erased data subject: they are not processed."""
        key = privacy_key(self.settings)
        if key is None or self.sessions is None:  # nobody can be erased: no identifiers to compute
            return set()
        named = {e.envelope.event_id: suppression.identifiers_of(suppression.event_fields(e)) for e in events
                 if e.envelope.event_type not in suppression.EXEMPT_EVENTS}
        if not any(named.values()):
            return set()
        with contextlib.nullcontext(session) if session is not None else self.sessions() as lookup:
            erased = suppression.suppressed(lookup, key, set().union(*named.values()))
        return {event_id for event_id, values in named.items() if values & erased}

    def _skip_suppressed(self, topic: str, event_id: str) -> None:
        metrics.SUPPRESSED.labels(self.service.name, topic).inc()
        log.info("event about an erased data subject not processed", extra={"topic": topic, "event_id": event_id})

    def _decode(self, record: Record) -> BaseModel | DecodeError:
        try:
            return decode(self.event_type(record), record.value())
        except DecodeError as exc:  # _handle sends it to the dead-letter topic
            return exc

    def _handle(self, record: Record, event: BaseModel | DecodeError, session: Session | None,
                done: dict[str, list[Output]], suppressed: set[str], check_each: bool = True) -> list[Output]:
        if isinstance(event, DecodeError):
            return [dead_letter(self.service.name, record, event, tries=0)]
        envelope = event.envelope
        event_id = envelope.event_id
        if event_id in done:
            return done[event_id]
        topic = self.event_type(record)
        records = self._writes
        reads = session is not None and not records  # a read-only service's session
        if event_id in suppressed:
            self._skip_suppressed(topic, event_id)
            if records:
                replay.record_processed(session, self.group, event_id, [], utc_now())
            done[event_id] = []
            return []
        handler = self.service.handlers[topic]
        for attempt in range(1, self.settings.max_tries + 1):
            ctx = self.context(event_id, envelope.correlation_id, session)
            started = time.perf_counter()
            try:
                with session.begin_nested() if records else _NO_SAVEPOINT:
                    handler(event, ctx)
                    self._check_sizes(ctx.outputs)
                    if reads and check_each and _changes(session):
                        session.rollback()
                        raise ReadOnlyStore(f"{self.service.name} reads the store only, yet its handler changed it")
                    if records:
                        replay.record_processed(session, self.group, event_id, ctx.outputs, utc_now())
                        session.flush()
            except PERMANENT_ERRORS as exc:
                return [dead_letter(self.service.name, record, exc, tries=attempt)]
            except OperationalError:
                raise  # the store is away, not the event at fault: the loop rewinds the batch
            except Exception as exc:
                if reads:
                    if not check_each and _changes(session):
                        session.info[_CHANGED] = True  # for the batch's check, which the rollback would blind
                    session.rollback()  # a failed read (PostgreSQL) leaves the transaction unusable
                if attempt == self.settings.max_tries:
                    return [dead_letter(self.service.name, record, exc, tries=attempt)]
                delay = min(self.settings.retry_backoff_cap_seconds,
                            self.settings.retry_backoff_seconds * 2 ** (attempt - 1))
                log.warning("handler failed, retrying", extra={"topic": topic, "attempt": attempt,
                                                                "error": safe_reason(exc), "retry_in": delay})
                time.sleep(delay)
                continue
            self._handler_seconds[topic].observe(time.perf_counter() - started)
            done[event_id] = ctx.outputs
            return ctx.outputs
        raise AssertionError("unreachable: the last attempt returns")

    def _check_sizes(self, outputs: list[Output]) -> None:
        """Inside the handler's savepoint: an output the producer would refuse undoes the handler's changes."""
        for output in outputs:
            size = len(output.value) + len(output.key)
            if size > self.settings.max_message_bytes:
                raise OutputTooLarge(f"{output.topic} output of {size} bytes exceeds the "
                                     f"{self.settings.max_message_bytes}-byte message limit")
