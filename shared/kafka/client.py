"""The settings every Kafka client careflow makes starts from (services, CLI, console, bench)."""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka import KafkaError, KafkaException


def client_config(bootstrap_servers: str, **overrides) -> dict:
    return {"bootstrap.servers": bootstrap_servers, **overrides}


def produce(producer, topic: str, value: bytes, key: bytes, headers=None, on_delivery: Callable | None = None,
            until: Callable[[], bool] | None = None) -> None:
    """Produces one record, waiting for deliveries to make room when the local queue is full:
    a large batch or a million-row import waits for the broker instead of failing or buffering.
    `until`: when it holds, stop waiting (a broker away for good, a stop signal) with _TIMED_OUT."""
    while True:
        try:
            producer.produce(topic, value=value, key=key, headers=headers, on_delivery=on_delivery)
            return
        except BufferError:
            if until is not None and until():
                raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "the local queue stayed full")) from None
            producer.poll(0.05)
