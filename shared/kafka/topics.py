"""Topics: one per event type of the contract, each with its dead-letter topic."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from shared.contract import contracts
from shared.kafka.client import client_config


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def ensure_topics(bootstrap_servers: str, topics: Iterable[str], partitions: int) -> None:
    """Creates each topic and its dead-letter topic when missing; existing topics are left as they are."""
    admin = AdminClient(client_config(bootstrap_servers))
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
