"""Produces careflow events from outside a consumer: operator imports, the console, peers played in a demo."""

from __future__ import annotations

from confluent_kafka import KafkaException, Producer
from pydantic import BaseModel

from shared.contract import Envelope, contract, envelope
from shared.contract.codec import encode_record
from shared.kafka.client import Connection, client_config, produce


# The send queue's bound: a million-row import waits for the broker instead of buffering in memory.
# librdkafka's default bound (100,000 messages) let the importer grow by ~40 MB in 12 s of a broker
# that did not answer (~650 bytes a queued lead-imported event, librdkafka's own share included).
# 10,000 messages are still two seconds of an import's sending, far more than a broker round trip.
SEND_QUEUE_MESSAGES = 10_000
PRODUCER_CONFIG = {"enable.idempotence": True, "linger.ms": 20, "compression.type": "lz4",
                   "queue.buffering.max.messages": SEND_QUEUE_MESSAGES, "queue.buffering.max.kbytes": 16_384}


class Publisher:
    """Idempotent producer: a retried send is written once; every event is keyed by its contract."""

    def __init__(self, connection: Connection, producer_name: str, topic_prefix: str = "", **config):
        self.producer_name = producer_name
        self.topic_prefix = topic_prefix
        self._producer = Producer(client_config(connection, **{**PRODUCER_CONFIG, **config}))
        self._failed = 0
        self._errors: list[str] = []  # the first few, for the message

    def publish(self, event_type: str, *, envelope_: Envelope | None = None, **fields) -> BaseModel:
        """Publishes an event of these fields, each checked against its schema's type as it is written
        (FieldTypeError naming the wrong one), as a handler's emit is; returns the event as written.
        No model is validated first: for an import, that was a tenth of its time a row."""
        spec = contract(event_type)
        fields["envelope"] = envelope_ or envelope(event_type, self.producer_name)
        value, record = encode_record(spec, fields)
        produce(self._producer, self.topic_prefix + spec.topic, value, record[spec.key_field].encode(),
                on_delivery=self._delivered)
        self._producer.poll(0)
        return spec.construct(record)

    def _delivered(self, error, _message) -> None:
        if error is not None:
            self._failed += 1
            if len(self._errors) < 3:
                self._errors.append(str(error))

    def flush(self, timeout: float = 60) -> None:
        remaining = self._producer.flush(timeout)
        if remaining or self._failed:
            raise KafkaException(f"{remaining + self._failed} event(s) not delivered; errors: {self._errors}")

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.flush()
