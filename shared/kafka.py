"""The Kafka adapter: client configuration, topics, and a publisher for operator tools."""

from __future__ import annotations

import uuid
import datetime as dt
from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from pydantic import BaseModel

from shared import codec
from shared.contracts import Envelope, contract, contracts


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def to_millis(moment: dt.datetime) -> dt.datetime:
    """Avro timestamp-millis keeps milliseconds: truncate so an event equals its decoded self."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def envelope(event_type: str, producer: str, *, occurred_at: dt.datetime | None = None,
             event_id: str | None = None, correlation_id: str | None = None,
             causation_id: str | None = None) -> Envelope:
    event_id = event_id or str(uuid.uuid4())
    return Envelope(event_id=event_id, event_type=event_type, occurred_at=to_millis(occurred_at or utc_now()),
                    producer=producer, correlation_id=correlation_id or event_id, causation_id=causation_id)


def ensure_topics(bootstrap_servers: str, topics: Iterable[str], partitions: int) -> None:
    """Creates each topic and its dead-letter topic when missing; existing topics are left as they are."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    wanted = sorted({name for topic in topics for name in (topic, dlq_topic(topic))})
    existing = set(admin.list_topics(timeout=30).topics)
    missing = [NewTopic(t, num_partitions=partitions, replication_factor=-1) for t in wanted if t not in existing]
    if not missing:
        return
    for topic, future in admin.create_topics(missing, operation_timeout=30).items():
        try:
            future.result()
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise


def ensure_all_topics(bootstrap_servers: str, partitions: int, prefix: str = "") -> None:
    ensure_topics(bootstrap_servers, [prefix + event_type for event_type in contracts()], partitions)


class Publisher:
    """Produces careflow events from outside a consumer (imports, peers played in a demo).

    Idempotent producer: a retried send is written once; every event is keyed by its contract.
    """

    def __init__(self, bootstrap_servers: str, producer_name: str, topic_prefix: str = "", **config):
        self.producer_name = producer_name
        self.topic_prefix = topic_prefix
        # A bounded send queue: a million-row import waits for the broker instead of buffering in memory.
        self._producer = Producer({"bootstrap.servers": bootstrap_servers, "enable.idempotence": True,
                                   "linger.ms": 20, "compression.type": "lz4",
                                   "queue.buffering.max.kbytes": 32768, **config})
        self._errors: list[str] = []

    def publish(self, event_type: str, *, envelope_: Envelope | None = None, **fields) -> BaseModel:
        spec = contract(event_type)
        event = spec.model(envelope=envelope_ or envelope(event_type, self.producer_name), **fields)
        self.send(event_type, event)
        return event

    def send(self, event_type: str, event: BaseModel) -> None:
        spec = contract(event_type)
        value = codec.encode(event_type, event)
        while True:
            try:
                self._producer.produce(self.topic_prefix + spec.topic, value=value, key=spec.key_of(event).encode(), on_delivery=self._delivered)
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                self._producer.poll(0.1)
        self._producer.poll(0)

    def _delivered(self, error, _message) -> None:
        if error is not None:
            self._errors.append(str(error))

    def flush(self, timeout: float = 60) -> None:
        remaining = self._producer.flush(timeout)
        if remaining or self._errors:
            raise KafkaException(f"{remaining} event(s) not delivered; errors: {self._errors[:3]}")

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.flush()
