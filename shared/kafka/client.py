"""The settings every Kafka client careflow makes starts from (services, CLI, console, bench)."""

from __future__ import annotations

from collections.abc import Callable


def client_config(bootstrap_servers: str, **overrides) -> dict:
    return {"bootstrap.servers": bootstrap_servers, **overrides}


def produce(producer, topic: str, value: bytes, key: bytes, headers=None, on_delivery: Callable | None = None) -> None:
    """Produces one record, waiting for deliveries to make room when the local queue is full:
    a large batch or a million-row import waits for the broker instead of failing or buffering."""
    while True:
        try:
            producer.produce(topic, value=value, key=key, headers=headers, on_delivery=on_delivery)
            return
        except BufferError:
            producer.poll(0.05)
