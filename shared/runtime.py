"""The consumer runtime every careflow service runs on.

Consume a batch, decode, call the service's handler for each event, produce the follow-on events
and commit the consumed offsets in one Kafka transaction (exactly-once; consumers read_committed).

A handler that writes to the store (StoreAccess.WRITE) does so in one database transaction per
batch, committed just before the Kafka transaction. The events a handler emitted are stored with the id of the event
that caused them: when a crash or a rebalance falls between the two commits, the redelivered event
is not handled again, its stored events are produced again, and the committed view holds each
once. Timers (deadlines) work the same way: a deadline is claimed once in the store, its events
are stored with it and published in a Kafka transaction, and republished if that never committed.
A handler that only reads the store (StoreAccess.READ) needs none of this: the Kafka transaction
alone makes it exactly-once, and it pays no database write on its hot path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import itertools
import json
import logging
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition
from prometheus_client import start_http_server
from pydantic import BaseModel, ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from shared import codec, metrics
from shared.contracts import Envelope, contract
from shared.kafka import dlq_topic, ensure_all_topics, to_millis, utc_now
from shared.settings import Settings
from shared.store import session_factory
from shared.store.models import Deadline, ProcessedEvent

log = logging.getLogger("careflow.runtime")

Clock = Callable[[], dt.datetime]
_EVENT_IDS = uuid.UUID("0d5c5a4e-8a57-4c35-9d0f-6f1f0b7c2a11")


class Rejected(Exception):
    """An event the handler will never accept (unknown customer, value outside a catalogue):
    it goes to the dead-letter topic with this reason at once, without retries."""


class ReadOnlyStore(Exception):
    """A handler of a service that reads the store only (StoreAccess.READ) tried to change it."""


# Errors that retrying cannot cure: bad input, not a passing fault.
PERMANENT_ERRORS = (Rejected, ReadOnlyStore, ValidationError, ValueError)


@dataclass(frozen=True)
class Output:
    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


class Context:
    """What a handler sees besides its event: the clock, the store session, and `emit`."""

    def __init__(self, service: str, cause_id: str, correlation_id: str, clock: Clock, session: Session | None,
                 topic_prefix: str = ""):
        self.service = service
        self.topic_prefix = topic_prefix
        self.session = session
        self._clock = clock
        self._cause_id = cause_id
        self._correlation_id = correlation_id
        self.outputs: list[Output] = []

    def now(self) -> dt.datetime:
        return self._clock()

    def emit(self, event_type: str, **fields: Any) -> BaseModel:
        """Emits a follow-on event. Its id derives from the cause, so a replay emits the same event."""
        spec = contract(event_type)
        event_id = str(uuid.uuid5(_EVENT_IDS, f"{self._cause_id}/{len(self.outputs)}"))
        env = Envelope(event_id=event_id, event_type=event_type, occurred_at=to_millis(self.now()),
                       producer=self.service, correlation_id=self._correlation_id, causation_id=self._cause_id)
        event = spec.model(envelope=env, **fields)
        self.outputs.append(Output(self.topic_prefix + spec.topic, spec.key_of(event).encode(), codec.encode(event_type, event)))
        return event


class StoreAccess(Enum):
    NONE = "none"    # consume → produce only
    READ = "read"    # reads reference data (the subscriber directory): a read transaction per batch
    WRITE = "write"  # one write transaction per batch, with the processed-event records that make replays safe


Handler = Callable[[BaseModel, Context], None]
DeadlineHandler = Callable[[Deadline, Context], None]


@dataclass(frozen=True)
class Service:
    """A careflow service: a consumer group with a handler per consumed event type."""

    name: str
    handlers: Mapping[str, Handler]
    store: StoreAccess = StoreAccess.WRITE
    # Deadline kinds this service fires, and what firing one does.
    deadline_handlers: Mapping[str, DeadlineHandler] = field(default_factory=dict)
    # Loads what a batch's handlers will look up, a query per table (StoreSession.prefetch),
    # instead of a query per event and row.
    prefetch: Callable[[list[BaseModel], Session], None] | None = None


def _pack(outputs: list[Output]) -> bytes:
    return json.dumps([[o.topic, o.key.hex(), o.value.hex(), [[k, v.hex()] for k, v in o.headers]]
                       for o in outputs]).encode()


def _unpack(blob: bytes) -> list[Output]:
    return [Output(t, bytes.fromhex(k), bytes.fromhex(v), tuple((h, bytes.fromhex(hv)) for h, hv in hs))
            for t, k, v, hs in json.loads(blob)]


class ServiceRunner:
    def __init__(self, service: Service, settings: Settings, *, clock: Clock = utc_now,
                 sessions: sessionmaker[Session] | None = None):
        self.service = service
        self.settings = settings
        self.clock = clock
        self.writes = service.store is StoreAccess.WRITE or bool(service.deadline_handlers)
        self.sessions = sessions if sessions is not None else (
            session_factory(settings.database_url, for_writes=self.writes)
            if self.writes or service.store is StoreAccess.READ else None)
        self.stopping = False
        self.prefix = settings.topic_prefix
        self.group = self.prefix + service.name
        self.topics = sorted(self.prefix + event_type for event_type in service.handlers)
        common = {"bootstrap.servers": settings.kafka_bootstrap_servers}
        self.consumer = Consumer({
            **common, "group.id": self.group, "enable.auto.commit": False,
            "isolation.level": "read_committed", "auto.offset.reset": "earliest",
            "client.id": f"{service.name}-{settings.instance_id}", "session.timeout.ms": settings.session_timeout_ms,
        })
        # Transactions take turns over a few transactional producers. commit_transaction returns once
        # the broker has logged the commit, before it has written the commit markers; meanwhile a new
        # transaction on the same transactional id is refused with CONCURRENT_TRANSACTIONS and librdkafka
        # tries again 20 ms later (AddPartitionsToTxn, a fixed backoff) or retry.backoff.ms later
        # (AddOffsetsToTxn). Back to back small batches met that in one transaction of 30: the largest
        # part of the answered call's p99. The next producer in turn finished its markers long ago.
        # Batches still commit one after the other, in order, so offsets commit in order as before.
        self.producers = [Producer({
            **common, "transactional.id": f"{self.prefix}{service.name}-{settings.instance_id}-{turn}",
            "linger.ms": 5, "compression.type": "lz4", "transaction.timeout.ms": 30000,
            # The backoff of the requests that are retried on CONCURRENT_TRANSACTIONS regardless
            # (exponential up to 1 s): librdkafka's default 100 ms would put that much into a batch's latency.
            "retry.backoff.ms": 10,
        }) for turn in range(settings.transactional_producers)]
        self._turns = itertools.cycle(self.producers)
        self._next_tick = 0.0
        self._next_lag_report = 0.0
        # Labelled once: a child lookup per event costs more than the observation itself.
        self._handler_seconds = {event_type: metrics.HANDLER_SECONDS.labels(service.name, event_type)
                                 for event_type in service.handlers}

    # --- lifecycle ------------------------------------------------------------------------

    def request_stop(self, *_args) -> None:
        self.stopping = True

    def start(self) -> None:
        """Fences this instance's previous incarnation (its transactional ids) and joins the group."""
        for producer in self.producers:
            producer.init_transactions(60)
        self.consumer.subscribe(self.topics)

    def run(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.request_stop)
        if self.settings.metrics_port:
            start_http_server(self.settings.metrics_port)
        # Every topic of the contract, so that whatever a handler emits has somewhere to go.
        ensure_all_topics(self.settings.kafka_bootstrap_servers, self.settings.partitions, self.prefix)
        self.start()
        # What is loaded by now (libraries, schemas, rule data) lives as long as the process: frozen
        # out of the collector's sight, a full collection no longer stalls a batch for tens of ms.
        gc.collect()
        gc.freeze()
        log.info("service started", extra={"topics": self.topics, "instance": self.settings.instance_id})
        try:
            while not self.stopping:
                self.poll_once()
        finally:
            # Everything consumed has been committed in its batch's transaction: leaving the group
            # now hands the partitions over without losing or repeating anything.
            self.consumer.close()
            for producer in self.producers:
                producer.flush(10)
            log.info("service stopped")

    def poll_once(self, timeout: float = 0.5) -> int:
        # Wait for the first message only, then take what is already fetched: consume() alone
        # would hold a half-full batch until its timeout, adding that much latency at low rates.
        first = self.consumer.poll(timeout)
        messages = [] if first is None else [first]
        if first is not None and self.settings.batch_size > 1:
            messages += self.consumer.consume(self.settings.batch_size - 1, timeout=0)
        messages = [m for m in messages if not self._is_transport_error(m)]
        if messages:
            self._process_batch(messages)
        now = time.monotonic()
        if self.service.deadline_handlers and now >= self._next_tick:
            self._next_tick = now + self.settings.tick_seconds
            self.fire_due_deadlines()
        if now >= self._next_lag_report:
            self._next_lag_report = now + 10
            self._report_lag()
        return len(messages)

    @staticmethod
    def _is_transport_error(message: Message) -> bool:
        if message.error() is None:
            return False
        log.warning("consumer error", extra={"error": str(message.error())})
        return True

    # --- one batch, one transaction -------------------------------------------------------

    def _process_batch(self, messages: list[Message]) -> None:
        producer = next(self._turns)
        producer.begin_transaction()
        try:
            decoded = [(message, self._decode(message)) for message in messages]
            with self._unit_of_work() as session:
                events = [event for _, event in decoded if isinstance(event, BaseModel)]
                done = self._already_processed(session, events)
                if self.service.prefetch is not None and session is not None:
                    self.service.prefetch([e for e in events if e.envelope.event_id not in done], session)
                outputs = [output for message, event in decoded for output in self._handle(message, event, session, done)]
                self._produce(producer, outputs)
            producer.send_offsets_to_transaction(self._next_offsets(messages), self.consumer.consumer_group_metadata())
            producer.commit_transaction()
            self._count(messages, outputs)
        except KafkaException as exc:
            error = exc.args[0]
            if not error.txn_requires_abort():
                raise  # fatal (e.g. fenced by a newer instance): stop; a restart recovers
            log.warning("transaction aborted, batch will be redelivered", extra={"error": str(error)})
            producer.abort_transaction()
            self._rewind(messages)

    @contextlib.contextmanager
    def _unit_of_work(self) -> Iterator[Session | None]:
        if self.service.store is StoreAccess.NONE or self.sessions is None:
            yield None
        elif self.service.store is StoreAccess.READ:
            with self.sessions() as session:  # closed without a commit
                yield session
        else:
            with self.sessions.begin() as session:
                yield session

    def _already_processed(self, session: Session | None, events: list[BaseModel]) -> dict[str, list[Output]]:
        if session is None or self.service.store is not StoreAccess.WRITE:
            return {}
        ids = {event.envelope.event_id for event in events}
        rows = session.execute(select(ProcessedEvent.event_id, ProcessedEvent.outputs).where(
            ProcessedEvent.consumer == self.group, ProcessedEvent.event_id.in_(ids)))
        return {event_id: _unpack(outputs) for event_id, outputs in rows}

    def _event_type(self, message: Message) -> str:
        return message.topic()[len(self.prefix):]

    def _decode(self, message: Message) -> BaseModel | codec.DecodeError:
        try:
            return codec.decode(self._event_type(message), message.value())
        except codec.DecodeError as exc:  # _handle sends it to the dead-letter topic
            return exc

    def _handle(self, message: Message, event: BaseModel | codec.DecodeError, session: Session | None,
                done: dict[str, list[Output]]) -> list[Output]:
        topic = self._event_type(message)
        if isinstance(event, codec.DecodeError):
            return [self._dead_letter(message, event, tries=0)]
        event_id = event.envelope.event_id
        if event_id in done:
            return done[event_id]
        handler = self.service.handlers[topic]
        records = self.service.store is StoreAccess.WRITE
        for attempt in range(1, self.settings.max_tries + 1):
            ctx = Context(self.service.name, event_id, event.envelope.correlation_id, self.clock, session, self.prefix)
            started = time.perf_counter()
            try:
                with session.begin_nested() if records else contextlib.nullcontext():
                    handler(event, ctx)
                    if session is not None and not records and (session.new or session.dirty or session.deleted):
                        session.rollback()
                        raise ReadOnlyStore(f"{self.service.name} reads the store only, yet its handler changed it")
                    if records:
                        session.add(ProcessedEvent(consumer=self.group, event_id=event_id,
                                                   processed_at=utc_now(), outputs=_pack(ctx.outputs)))
                        session.flush()
            except PERMANENT_ERRORS as exc:
                return [self._dead_letter(message, exc, tries=attempt)]
            except Exception as exc:
                if session is not None and not records:
                    session.rollback()  # a failed read (PostgreSQL) leaves the transaction unusable
                if attempt == self.settings.max_tries:
                    return [self._dead_letter(message, exc, tries=attempt)]
                delay = min(self.settings.retry_backoff_cap_seconds,
                            self.settings.retry_backoff_seconds * 2 ** (attempt - 1))
                log.warning("handler failed, retrying", extra={"topic": topic, "attempt": attempt,
                                                                "error": repr(exc), "retry_in": delay})
                time.sleep(delay)
                continue
            self._handler_seconds[topic].observe(time.perf_counter() - started)
            done[event_id] = ctx.outputs
            return ctx.outputs
        raise AssertionError("unreachable: the last attempt returns")

    def _dead_letter(self, message: Message, error: Exception, tries: int) -> Output:
        reason = str(error) or type(error).__name__
        metrics.DEAD_LETTERED.labels(self.service.name, message.topic(), type(error).__name__).inc()
        log.error("event dead-lettered", extra={"topic": message.topic(), "partition": message.partition(),
                                                "offset": message.offset(), "error": reason})
        headers = (("error", reason[:2000].encode()), ("error_type", type(error).__name__.encode()),
                   ("source_topic", message.topic().encode()), ("source_partition", str(message.partition()).encode()),
                   ("source_offset", str(message.offset()).encode()), ("service", self.service.name.encode()),
                   ("tries", str(tries).encode()))
        return Output(dlq_topic(message.topic()), message.key() or b"", message.value() or b"", headers)

    @staticmethod
    def _produce(producer: Producer, outputs: list[Output]) -> None:
        for output in outputs:
            while True:
                try:
                    producer.produce(output.topic, value=output.value, key=output.key,
                                     headers=list(output.headers) or None)
                    break
                except BufferError:
                    producer.poll(0.05)

    def _count(self, messages: list[Message], outputs: list[Output]) -> None:
        """Once the transaction committed: what it consumed and produced, per topic."""
        for topic, n in Counter(map(self._event_type, messages)).items():
            metrics.CONSUMED.labels(self.service.name, topic).inc(n)
        for topic, n in Counter(output.topic for output in outputs).items():
            metrics.PRODUCED.labels(self.service.name, topic).inc(n)

    @staticmethod
    def _next_offsets(messages: list[Message]) -> list[TopicPartition]:
        last: dict[tuple[str, int], int] = {}
        for m in messages:
            last[(m.topic(), m.partition())] = max(last.get((m.topic(), m.partition()), -1), m.offset())
        return [TopicPartition(t, p, o + 1) for (t, p), o in last.items()]

    def _rewind(self, messages: list[Message]) -> None:
        first: dict[tuple[str, int], int] = {}
        for m in messages:
            first.setdefault((m.topic(), m.partition()), m.offset())
        for (topic, partition), offset in first.items():
            with contextlib.suppress(KafkaException):  # a partition revoked meanwhile is not ours
                self.consumer.seek(TopicPartition(topic, partition, offset))

    def _report_lag(self) -> None:
        with contextlib.suppress(KafkaException):
            for tp in self.consumer.position(self.consumer.assignment()):
                # The high watermark the fetcher last saw: no broker round trip on the hot path.
                _, high = self.consumer.get_watermark_offsets(tp, cached=True)
                if tp.offset >= 0:
                    metrics.LAG.labels(self.service.name, tp.topic, str(tp.partition)).set(max(0, high - tp.offset))

    # --- deadlines ------------------------------------------------------------------------

    # A fired deadline whose events are still not published after this long was fired by an
    # instance that died before its Kafka commit: publish them again (same event ids).
    REPUBLISH_AFTER = dt.timedelta(seconds=30)

    def fire_due_deadlines(self, limit: int = 200) -> int:
        """Fires the due deadlines of this service's kinds, each once across every instance."""
        now = self.clock()
        fired: list[tuple[str, list[Output]]] = []
        with self.sessions.begin() as session:
            due = session.scalars(select(Deadline).where(
                Deadline.kind.in_(self.service.deadline_handlers), Deadline.fired_at.is_(None),
                Deadline.cancelled_at.is_(None), Deadline.due_at <= now).order_by(Deadline.due_at).limit(limit)).all()
            for deadline in due:
                claimed = session.execute(update(Deadline).where(
                    Deadline.deadline_id == deadline.deadline_id, Deadline.fired_at.is_(None),
                    Deadline.cancelled_at.is_(None)).values(fired_at=now)).rowcount
                if not claimed:
                    continue  # another instance fired it first
                cause = f"deadline:{deadline.deadline_id}"
                ctx = Context(self.service.name, cause, deadline.payload.get("correlation_id", cause), self.clock,
                              session, self.prefix)
                self.service.deadline_handlers[deadline.kind](deadline, ctx)
                session.add(ProcessedEvent(consumer=self.group, event_id=cause, processed_at=now,
                                           outputs=_pack(ctx.outputs)))
                fired.append((deadline.deadline_id, ctx.outputs))
                metrics.DEADLINES_FIRED.labels(self.service.name, deadline.kind).inc()
            stale = session.execute(select(Deadline.deadline_id, ProcessedEvent.outputs).join(
                ProcessedEvent, (ProcessedEvent.consumer == self.group)
                & (ProcessedEvent.event_id == "deadline:" + Deadline.deadline_id)).where(
                Deadline.kind.in_(self.service.deadline_handlers), Deadline.published.is_(False),
                Deadline.fired_at <= now - self.REPUBLISH_AFTER)).all()
            fired.extend((deadline_id, _unpack(outputs)) for deadline_id, outputs in stale)
        if not fired:
            return 0
        outputs = [output for _, deadline_outputs in fired for output in deadline_outputs]
        producer = next(self._turns)
        producer.begin_transaction()
        self._produce(producer, outputs)
        producer.commit_transaction()
        self._count([], outputs)
        with self.sessions.begin() as session:
            session.execute(update(Deadline).where(Deadline.deadline_id.in_([d for d, _ in fired]))
                            .values(published=True))
        return len(fired)
