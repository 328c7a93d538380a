"""The exactly-once loop every careflow service runs on.

Consume a batch, hand it to the `BatchHandler` (decode, replay safety, handlers, retries, dead
letters), produce its outputs and commit the consumed offsets in one Kafka transaction; consumers
read_committed. A store-writing handler's database transaction commits just before the Kafka
transaction (see `shared.runner.replay`); deadlines are fired between batches (`shared.runner.deadlines`).

Faults: every blocking client call runs in a worker thread with a bound (`Calls`): librdkafka's
send_offsets_to_transaction can wait forever for a group coordinator that is gone, whatever its
timeout (librdkafka #5456, #5511). A transaction that cannot complete is aborted; when the abort
fails too, or the producer's error is fatal, the producer is replaced by a new one with the same
transactional id (which fences the old one and aborts what it left open). Either way the batch is
rewound and runs again: nothing is lost, nothing is committed twice. A stop signal is seen within
half a second in every state. An output the broker refuses (too large, invalid) sends its consumed
event to the dead-letter topic and the batch runs again without it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import logging
import os
import queue
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from prometheus_client import start_http_server
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from shared.clock import Clock, utc_now
from shared.config import Policies, Settings
from shared.kafka import client_config, ensure_all_topics, ensure_topics, produce, retention_ms
from shared.kafka.ledger import Unsettled, read_committed
from shared.kafka.topics import fired_deadlines_topic
from shared.observability import metrics
from shared.runner import deadlines
from shared.runner.batch import BatchHandler, source
from shared.runner.dead_letters import Unproducible
from shared.service import Output, Service, StoreAccess
from shared.store import session_factory

log = logging.getLogger("careflow.runner")

# Delivery errors that no retry cures: the output is the poison, its consumed event goes to the dead letters.
UNPRODUCIBLE = frozenset({KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.INVALID_RECORD, KafkaError.RECORD_LIST_TOO_LARGE,
                          KafkaError.POLICY_VIOLATION, KafkaError.INVALID_MSG, KafkaError._INVALID_ARG})
# Fenced twice within this long: another instance really holds our transactional ids, not a transaction
# the coordinator aborted while the broker was away.
FENCED_AGAIN_SECONDS = 120
# Between tries of what a passing fault stopped (the store, a new producer's init_transactions).
PAUSE_SECONDS = 1.0


class Stopping(Exception):
    """A stop signal arrived while a call was waiting: leave the loop; nothing uncommitted counts."""


class CallTimedOut(Exception):
    pass


class ServiceExit(Exception):
    """The service cannot go on: the one line the log says why."""


class Calls:
    """Runs blocking client calls in a worker thread, each with a bound, while the loop watches the
    stop flag. A call past its bound is abandoned with its thread; the next call gets a new thread."""

    def __init__(self, stopping: Callable[[], bool]):
        self.stopping = stopping
        self._jobs: queue.SimpleQueue | None = None

    def __call__(self, what: str, bound: float, fn: Callable, *args):
        future = self.submit(fn, *args)
        deadline = time.monotonic() + bound
        while True:
            try:
                return future.result(timeout=max(0.0, min(0.5, deadline - time.monotonic())))
            except FutureTimeout:
                if self.stopping():
                    self._abandon()
                    raise Stopping(what) from None
                if time.monotonic() >= deadline:
                    self._abandon()
                    raise CallTimedOut(f"{what} did not return within {bound:g} s") from None

    def submit(self, fn: Callable, *args) -> Future:
        """The call queued without waiting for it. One worker runs the calls in order: the next call
        waited for is run after it, and can ask its future for its outcome."""
        if self._jobs is None:
            self._jobs = queue.SimpleQueue()
            threading.Thread(target=self._work, args=(self._jobs,), name="kafka-calls", daemon=True).start()
        future: Future = Future()
        self._jobs.put((future, fn, args))
        return future

    def _abandon(self) -> None:
        self._jobs.put(None)  # the stuck thread ends once its call returns, if ever
        self._jobs = None

    @staticmethod
    def _work(jobs: queue.SimpleQueue) -> None:
        while (job := jobs.get()) is not None:
            future, fn, args = job
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # handed to the waiting loop
                future.set_exception(exc)
            # Held while waiting for the next job, the last call (a client's bound method) would keep
            # its client alive after its runner is gone.
            del job, future, fn, args


# Tracked objects (dicts, lists, models…) an event keeps alive until its batch's transaction commits,
# with room to spare: measured 3 (no-op), 5 (normalizer) and 12 (segmenter) at most over a batch.
_TRACKED_PER_EVENT = 40


def freeze_loaded(batch_size: int) -> None:
    """What is loaded by now (libraries, schemas, rule data) lives as long as the process: frozen out
    of the collector's sight, a full collection no longer stalls a batch for tens of ms.

    And the youngest generation made larger than a batch's objects: at the collector's default (a
    collection every 700 allocations more than deallocations) a batch of 500 set off a young
    collection every ~100 events, each walking the batch's live objects and moving them to an older
    generation to be walked again (1,400 collections for 93,000 leads in the normalizer, ~2 µs a
    lead). Now a batch's objects die young, freed by their reference counts when it is done."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(max(gc.get_threshold()[0], _TRACKED_PER_EVENT * batch_size), *gc.get_threshold()[1:])


class ServiceRunner:
    def __init__(self, service: Service, settings: Settings, *, clock: Clock = utc_now,
                 sessions: sessionmaker[Session] | None = None, policies: Policies | None = None):
        self.service = service
        self.settings = settings
        self.clock = clock
        self.sessions = sessions if sessions is not None else (
            session_factory(settings.database_url, for_writes=service.writes)
            # A service without a store still reads the suppression entries of erased people.
            if service.writes or service.store is StoreAccess.READ or settings.privacy_key else None)
        self.batch = BatchHandler(service, settings, policies if policies is not None else Policies(settings), clock,
                                  self.sessions)
        self.stopping = False
        self.exit_code = 0
        self.prefix = settings.topic_prefix
        self.group = self.batch.group
        self.topics = sorted(self.prefix + event_type for event_type in service.handlers)
        common = client_config(settings)
        self.consumer = Consumer({
            **common, "group.id": self.group, "enable.auto.commit": False,
            "isolation.level": "read_committed", "auto.offset.reset": "earliest",
            "client.id": f"{service.name}-{settings.instance_id}", "session.timeout.ms": settings.session_timeout_ms,
            # What the consumer fetches ahead of the handlers: librdkafka's defaults (64 MB, 100,000
            # messages a partition) held ~100 MB in a service behind a backlog; 8 MB is still seconds of work.
            "queued.max.messages.kbytes": 8192, "queued.min.messages": 10_000,
        })
        # Transactions take turns over a few transactional producers. commit_transaction returns once
        # the broker has logged the commit, before it has written the commit markers; meanwhile a new
        # transaction on the same transactional id is refused with CONCURRENT_TRANSACTIONS and librdkafka
        # tries again 20 ms later (AddPartitionsToTxn, a fixed backoff) or retry.backoff.ms later
        # (AddOffsetsToTxn). Back to back small batches met that in one transaction of 30: the largest
        # part of the answered call's p99. The next producer in turn finished its markers long ago.
        # Batches still commit one after the other, in order, so offsets commit in order as before.
        self._producer_config = {
            # A batch's outputs are produced together, then its offsets sent: a linger of 1 ms still puts
            # them in one request, and lets it go while send_offsets_to_transaction waits on the broker.
            **common, "linger.ms": 1, "compression.type": "lz4",
            "transaction.timeout.ms": settings.transaction_timeout_ms,
            # The broker judges a record's size compressed; a dead letter is a consumed record, which the
            # broker took compressed. Handlers' outputs are held to max_message_bytes before (BatchHandler).
            "message.max.bytes": 64 * 1024 * 1024,
            # The backoff of the requests that are retried on CONCURRENT_TRANSACTIONS regardless
            # (exponential up to 1 s): librdkafka's default 100 ms would put that much into a batch's latency.
            "retry.backoff.ms": 10,
            # Delivery reports for failed outputs only (the poison pills, `_delivered`): one per output
            # would call into Python from commit_transaction's thread, each waiting for the GIL that the
            # loop holds while it handles the next batch.
            "delivery.report.only.error": True,
        }
        self.producers = [self._new_producer(turn) for turn in range(settings.transactional_producers)]
        self._turn = 0
        self.calls = Calls(lambda: self.stopping)
        self.bound = settings.kafka_call_timeout_seconds
        self._abandoned: list[Producer] = []  # kept alive: destroying one with a call stuck inside would block
        self._last_fenced: dict[int, float] = {}
        self._delivery_errors: list[tuple[int, tuple[str, int, int], KafkaError]] = []
        self._next_tick = 0.0
        self._next_lag_report = 0.0

    def _new_producer(self, turn: int) -> Producer:
        transactional_id = f"{self.prefix}{self.service.name}-{self.settings.instance_id}-{turn}"
        return Producer({**self._producer_config, "transactional.id": transactional_id})

    # --- lifecycle ------------------------------------------------------------------------

    def request_stop(self, *_args) -> None:
        self.stopping = True

    def start(self) -> None:
        """Creates the topics, fences this instance's previous incarnation (its transactional ids) and
        joins the group."""
        # Every topic of the contract, so that whatever a handler emits has somewhere to go.
        ensure_all_topics(self.settings, self.settings.partitions, self.prefix,
                          retention_ms(self.settings.personal_data_retention_days))
        if self.service.deadline_handlers:
            ensure_topics(self.settings, [fired_deadlines_topic(self.batch.group)], 1,
                          retention_ms(deadlines.LEDGER_RETENTION.days), dead_letters=False)
        for turn in range(len(self.producers)):
            self._init(turn)
        self.consumer.subscribe(self.topics)

    def _init(self, turn: int) -> None:
        """init_transactions until it succeeds (the broker may be away): a fresh producer in its turn."""
        while True:
            try:
                self.calls("init_transactions", self.bound, self.producers[turn].init_transactions, self.bound)
                return
            except (KafkaException, CallTimedOut) as exc:
                error = exc.args[0] if isinstance(exc, KafkaException) else None
                if error is not None and error.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED):
                    raise ServiceExit(f"fenced while initialising transactions: {error.str()}") from exc
                log.warning("init_transactions failed, trying again with a new producer", extra={"error": str(exc)})
                self._replace(turn)
                time.sleep(PAUSE_SECONDS)

    def _replace(self, turn: int) -> None:
        self._abandoned.append(self.producers[turn])
        self.producers[turn] = self._new_producer(turn)

    def run(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.request_stop)
        if self.settings.metrics_port:
            start_http_server(self.settings.metrics_port)
        try:
            self.start()
            freeze_loaded(self.settings.batch_size)
            log.info("service started", extra={"topics": self.topics, "instance": self.settings.instance_id})
            while not self.stopping:
                self.poll_once()
        except Stopping:
            pass  # what the batch did is uncommitted: the next owner of its partitions does it again
        except ServiceExit as exc:
            self.exit_code = 1
            log.error(f"service exiting: {exc}")
            raise SystemExit(1) from None
        except Exception as exc:
            self.exit_code = 1
            log.error(f"service exiting: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                      exc_info=True)
            raise SystemExit(1) from None
        finally:
            self._close()

    def close(self) -> None:
        """Leaves the group and closes the clients, each call bounded. Everything consumed has been
        committed in its batch's transaction: the partitions are handed over without losing or
        repeating anything."""
        self.stopping = False  # the closing calls below get their own bound
        with contextlib.suppress(Exception):
            self.calls("consumer close", self.bound, self.consumer.close)
        for producer in self.producers:
            with contextlib.suppress(Exception):
                self.calls("producer flush", self.bound, producer.flush, self.bound)
        # Dropped, they are destroyed: a runner closed in process leaves no client retrying its broker.
        self.producers = []

    def _close(self) -> None:
        self.close()
        log.info("service stopped")
        if self._abandoned:
            # A producer with a call stuck inside cannot be destroyed (its destructor would wait for
            # the call): leave without running destructors. The log is flushed first.
            logging.shutdown()
            os._exit(self.exit_code)

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
        unproducible: dict[tuple[str, int, int], Exception] = {}
        while True:
            turn = self._next_turn()
            producer = self.producers[turn]
            try:
                producer.begin_transaction()
                # The offsets go into the transaction while the batch is handled: sending them takes two
                # round trips, to the transaction's coordinator and the group's (3 ms of a 37 ms batch of
                # 500 leads in the normalizer, 4/5 of the wait for the commit), which no longer wait
                # for the handlers, nor they for it.
                offsets_sent = self.calls.submit(producer.send_offsets_to_transaction, self._next_offsets(messages),
                                                 self.consumer.consumer_group_metadata(), self.bound)
                self._delivery_errors.clear()
                per_record = self.batch.handle_each(messages, unproducible)
                for record, outputs in per_record:
                    self._produce(producer, outputs, source(record))
                self.calls("send_offsets_to_transaction and commit_transaction", 2 * self.bound, self._finish,
                           producer, offsets_sent)
            except Unproducible as poison:
                self._poisoned(unproducible, poison)
                self._recover(turn, None)
                continue
            except OperationalError as exc:  # the store is away (restarting, failing over)
                log.warning("the store failed, batch will be redelivered", extra={"error": str(exc).splitlines()[0]})
                self._recover(turn, None)
                self._rewind(messages)
                time.sleep(PAUSE_SECONDS)
                return
            except (KafkaException, CallTimedOut) as exc:
                if poison := self._take_unproducible():
                    self._poisoned(unproducible, poison)
                    self._recover(turn, None)
                    continue
                log.warning("transaction failed, batch will be redelivered", extra={"error": str(exc)})
                self._recover(turn, exc)
                self._rewind(messages)
                return
            self._count(messages, [o for _, outputs in per_record for o in outputs])
            return

    @staticmethod
    def _poisoned(unproducible: dict[tuple[str, int, int], Exception], poison: Unproducible) -> None:
        """The batch runs again with the record dead-lettered; if its dead letter was the one refused
        (the record itself too large), with a dead letter that carries the headers only."""
        log.warning("an output cannot be produced: its event goes to the dead letters, the batch runs again",
                    extra={"source_topic": poison.source[0], "offset": poison.source[2], "error": str(poison)})
        if getattr(unproducible.get(poison.source), "drop_value", False):
            raise ServiceExit(f"not even a dead letter of {poison.source} can be produced: {poison}")
        if poison.source in unproducible:
            poison = Unproducible(poison.source, f"{unproducible[poison.source]}; its dead letter: {poison}",
                                  drop_value=True)
        unproducible[poison.source] = poison

    def _next_turn(self) -> int:
        self._turn = (self._turn + 1) % len(self.producers)
        return self._turn

    def _finish(self, producer: Producer, offsets_sent: Future) -> None:
        """The commit, once the batch's offsets are in its transaction (their call ran before this
        one; its error, if any, is raised here); in the calls thread."""
        offsets_sent.result()
        self._commit_tries(producer)

    def _commit(self, producer: Producer) -> None:
        self.calls("commit_transaction", 2 * self.bound, self._commit_tries, producer)

    def _commit_tries(self, producer: Producer) -> None:
        """commit_transaction, tried again while its error is retriable (librdkafka's guidance); in the calls thread."""
        deadline = time.monotonic() + self.bound
        while True:
            try:
                producer.commit_transaction(self.bound)
                return
            except KafkaException as exc:
                error = exc.args[0]
                if not error.retriable() or error.txn_requires_abort() or time.monotonic() > deadline:
                    raise

    def _recover(self, turn: int, failure: Exception | None) -> None:
        """Leaves the producer of `turn` ready for the next transaction: aborted, or replaced."""
        producer = self.producers[turn]
        error = failure.args[0] if isinstance(failure, KafkaException) else None
        if error is not None and error.fatal():
            self._fatal(turn, error)
            return
        if isinstance(failure, CallTimedOut):
            self._replace(turn)  # the stuck call still holds the producer: a new one fences it
            self._init(turn)
            return
        try:
            self.calls("abort_transaction", self.bound, producer.abort_transaction, self.bound)
        except (KafkaException, CallTimedOut) as exc:
            abort_error = exc.args[0] if isinstance(exc, KafkaException) else None
            if abort_error is not None and abort_error.fatal():
                self._fatal(turn, abort_error)
                return
            log.warning("abort failed, replacing the producer", extra={"error": str(exc)})
            self._replace(turn)
            self._init(turn)

    def _fatal(self, turn: int, error: KafkaError) -> None:
        """A fatal producer error: fenced because the coordinator aborted our transaction while the
        broker was away, or by a newer instance holding our ids. Once, replace the producer; twice, exit."""
        if error.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH):
            now = time.monotonic()
            if now - self._last_fenced.get(turn, -FENCED_AGAIN_SECONDS) < FENCED_AGAIN_SECONDS:
                raise ServiceExit(f"fenced twice in {FENCED_AGAIN_SECONDS} s, another instance holds "
                                  f"instance id {self.settings.instance_id!r}: {error.str()}")
            self._last_fenced[turn] = now
        log.warning("fatal producer error, replacing the producer", extra={"error": error.str()})
        self._replace(turn)
        self._init(turn)

    def _produce(self, producer: Producer, outputs: list[Output], record_source: tuple[str, int, int] | None) -> None:
        on_delivery = functools.partial(self._delivered, record_source)
        deadline = time.monotonic() + self.bound
        for output in outputs:
            try:
                produce(producer, output.topic, output.value, output.key, list(output.headers) or None, on_delivery,
                        until=lambda: self.stopping or time.monotonic() > deadline)
            except KafkaException as exc:
                error = exc.args[0]
                if record_source is not None and error.code() in UNPRODUCIBLE:
                    raise Unproducible(record_source, error.str()) from exc
                raise
        if self.stopping:
            raise Stopping("produce")

    def _delivered(self, record_source: tuple[str, int, int] | None, error: KafkaError | None, message) -> None:
        if error is not None and record_source is not None and error.code() in UNPRODUCIBLE:
            size = len(message.value() or b"") + len(message.key() or b"")
            self._delivery_errors.append((size, record_source, error))

    def _take_unproducible(self) -> Unproducible | None:
        """The output the broker refused for good in the failed transaction, if any. The broker refuses
        a whole batch of records for one too large: the largest of them is the one."""
        errors, self._delivery_errors = self._delivery_errors, []
        if not errors:
            return None
        _, record_source, error = max(errors, key=lambda e: e[0])
        return Unproducible(record_source, error.str())

    def _count(self, messages: list[Message], outputs: list[Output]) -> None:
        """Once the transaction committed: what it consumed and produced, per topic."""
        for topic, n in Counter(map(self.batch.event_type, messages)).items():
            metrics.CONSUMED.labels(self.service.name, topic).inc(n)
        produced = Counter(output.topic for output in outputs)
        for topic, n in produced.items():
            metrics.PRODUCED.labels(self.service.name, topic).inc(n)
        if any(topic.endswith(".dlq") for topic in produced):  # counted committed: a batch run again counts once
            for output in outputs:
                if output.topic.endswith(".dlq"):
                    headers = dict(output.headers)
                    metrics.DEAD_LETTERED.labels(self.service.name, headers["source_topic"].decode(),
                                                 headers["error_type"].decode()).inc()

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

    def fire_due_deadlines(self, limit: int = 200) -> int:
        """Fires the due deadlines of this service's kinds, each once across every instance, and
        publishes again the firings an instance left unpublished (`shared.runner.deadlines`)."""
        try:
            left = self._left_unpublished()  # read before any claim: the ledger's read is not a firing's time
            claimed = time.monotonic()
            again, again_outputs = deadlines.claim_again(self.batch, left) if left else ([], [])
            fired, outputs = deadlines.fire_due(self.batch, limit)
        except OperationalError as exc:
            log.warning("the store failed, deadlines will fire later", extra={"error": str(exc).splitlines()[0]})
            return 0
        fired, outputs = again + fired, again_outputs + outputs
        if not fired:
            return 0
        turn = self._next_turn()
        producer = self.producers[turn]
        ledger = fired_deadlines_topic(self.batch.group)
        try:
            producer.begin_transaction()
            self._produce(producer, outputs, None)
            self._produce(producer, [Output(ledger, deadline_id.encode(), b"") for deadline_id in fired], None)
            if time.monotonic() - claimed > deadlines.REPUBLISH_AFTER.total_seconds() / 2:
                # Another instance may by now have read the ledger without this firing and claimed it.
                log.warning("deadline firing too slow to publish, its events will be published again")
                self._recover(turn, None)
                return 0
            self._commit(producer)
        except (KafkaException, CallTimedOut) as exc:
            log.warning("deadline transaction failed, its events will be published again", extra={"error": str(exc)})
            self._recover(turn, exc)
            return 0
        self._count([], outputs)
        with contextlib.suppress(OperationalError):  # unmarked: the ledger tells it was published
            deadlines.mark_published(self.batch, fired)
        return len(fired)

    def _left_unpublished(self) -> dict[str, dt.datetime]:
        """The firings left unpublished past `deadlines.REPUBLISH_AFTER` that the ledger does not hold,
        with when they were claimed; those it holds are marked published."""
        stale = deadlines.unpublished(self.batch)
        if not stale:
            return {}
        try:
            recorded = {message.key().decode() for message in read_committed(
                self.settings, [fired_deadlines_topic(self.batch.group)], self.bound, self.batch.group)}
        except (KafkaException, Unsettled) as exc:
            log.warning("the ledger of fired deadlines cannot be read yet, deadlines published later",
                        extra={"error": str(exc)})
            return {}
        deadlines.mark_published(self.batch, [deadline_id for deadline_id in stale if deadline_id in recorded])
        return {deadline_id: at for deadline_id, at in stale.items() if deadline_id not in recorded}
