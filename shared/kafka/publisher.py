"""Produces careflow events from outside a consumer: operator imports, the console, peers played in a demo."""

from __future__ import annotations

from confluent_kafka import KafkaException, Producer
from pydantic import BaseModel

from shared.contract import Envelope, build_event, contract, encode, envelope
from shared.kafka.client import Connection, client_config, produce


class Publisher:
    """Idempotent producer: a retried send is written once; every event is keyed by its contract."""

    def __init__(self, connection: Connection, producer_name: str, topic_prefix: str = "", **config):
        self.producer_name = producer_name
        self.topic_prefix = topic_prefix
        # A bounded send queue: a million-row import waits for the broker instead of buffering in memory.
        self._producer = Producer(client_config(connection, **{
            "enable.idempotence": True, "linger.ms": 20, "compression.type": "lz4",
            "queue.buffering.max.kbytes": 32768, **config}))
        self._errors: list[str] = []

    def publish(self, event_type: str, *, envelope_: Envelope | None = None, **fields) -> BaseModel:
        event = build_event(event_type, envelope_ or envelope(event_type, self.producer_name), **fields)
        self.send(event_type, event)
        return event

    def send(self, event_type: str, event: BaseModel) -> None:
        spec = contract(event_type)
        produce(self._producer, self.topic_prefix + spec.topic, encode(event_type, event), spec.key_of(event).encode(),
                on_delivery=self._delivered)
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
