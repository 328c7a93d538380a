"""The exactly-once loop every careflow service runs on.

Consume a batch, hand it to the `BatchHandler` (decode, replay safety, handlers, retries, dead
letters), produce its outputs and commit the consumed offsets in one Kafka transaction; consumers
read_committed. A store-writing handler's database transaction commits just before the Kafka
transaction (see `shared.runner.replay`); deadlines are fired between batches (`shared.runner.deadlines`).
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
import signal
import time
from collections import Counter

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition
from prometheus_client import start_http_server
from sqlalchemy.orm import Session, sessionmaker

from shared.clock import Clock, utc_now
from shared.config import Policies, Settings
from shared.kafka import client_config, ensure_all_topics, produce, retention_ms
from shared.observability import metrics
from shared.runner import deadlines
from shared.runner.batch import BatchHandler
from shared.service import Output, Service, StoreAccess
from shared.store import session_factory

log = logging.getLogger("careflow.runner")


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
        self.prefix = settings.topic_prefix
        self.group = self.batch.group
        self.topics = sorted(self.prefix + event_type for event_type in service.handlers)
        common = client_config(settings)
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
        ensure_all_topics(self.settings, self.settings.partitions, self.prefix,
                          retention_ms(self.settings.personal_data_retention_days))
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
            outputs = self.batch.handle(messages)
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

    @staticmethod
    def _produce(producer: Producer, outputs: list[Output]) -> None:
        for output in outputs:
            produce(producer, output.topic, output.value, output.key, list(output.headers) or None)

    def _count(self, messages: list[Message], outputs: list[Output]) -> None:
        """Once the transaction committed: what it consumed and produced, per topic."""
        for topic, n in Counter(map(self.batch.event_type, messages)).items():
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

    def fire_due_deadlines(self, limit: int = 200) -> int:
        """Fires the due deadlines of this service's kinds, each once across every instance."""
        fired, outputs = deadlines.fire_due(self.batch, limit)
        if not fired:
            return 0
        producer = next(self._turns)
        producer.begin_transaction()
        self._produce(producer, outputs)
        producer.commit_transaction()
        self._count([], outputs)
        deadlines.mark_published(self.batch, fired)
        return len(fired)
