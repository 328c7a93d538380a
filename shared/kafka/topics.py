"""Topics: one per event type of the contract, each with its dead-letter topic, each keeping its
events (personal data in nearly all of them) for a bounded retention."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic,
                                   ResourceType)

from shared.contract import contracts
from shared.kafka.client import client_config

DAY_MS = 24 * 3600 * 1000
# Event types that carry no personal data: they keep the broker's retention, so that a downstream
# subscriber back from a long outage still hears of every erasure.
WITHOUT_PERSONAL_DATA = frozenset({"subject-erased"})


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def retention_ms(days: float) -> int:
    return int(days * DAY_MS)


def ensure_topics(bootstrap_servers: str, topics: Iterable[str], partitions: int, retention: int | None = None) -> None:
    """Creates each topic and its dead-letter topic when missing, with `retention` (ms) when given;
    an existing topic keeps its partitions, and its retention is set to `retention` when it differs."""
    admin = AdminClient(client_config(bootstrap_servers))
    wanted = sorted({name for topic in topics for name in (topic, dlq_topic(topic))})
    existing = set(admin.list_topics(timeout=30).topics)
    config = {"retention.ms": str(retention)} if retention is not None else {}
    missing = [NewTopic(t, num_partitions=partitions, replication_factor=-1, config=config)
               for t in wanted if t not in existing]
    if missing:
        for topic, future in admin.create_topics(missing, operation_timeout=30).items():
            try:
                future.result()
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
    if retention is not None:
        _bound_retention(admin, [t for t in wanted if t in existing], retention)


def _bound_retention(admin: AdminClient, topics: list[str], retention: int) -> None:
    resources = [ConfigResource(ResourceType.TOPIC, t) for t in topics]
    if not resources:
        return
    stale = [resource for resource, future in admin.describe_configs(resources).items()
             if future.result()["retention.ms"].value != str(retention)]
    for resource in stale:
        resource.add_incremental_config(ConfigEntry("retention.ms", str(retention),
                                                    incremental_operation=AlterConfigOpType.SET))
    for future in admin.incremental_alter_configs(stale).values() if stale else ():
        future.result()


def topic_retention(bootstrap_servers: str, topic: str) -> int:
    admin = AdminClient(client_config(bootstrap_servers))
    resource = ConfigResource(ResourceType.TOPIC, topic)
    return int(admin.describe_configs([resource])[resource].result()["retention.ms"].value)


def ensure_all_topics(bootstrap_servers: str, partitions: int, prefix: str = "", retention: int | None = None) -> None:
    """Every topic of the contract; `retention` (ms) bounds those that carry personal data."""
    personal = [prefix + t for t in contracts() if t not in WITHOUT_PERSONAL_DATA]
    ensure_topics(bootstrap_servers, personal, partitions, retention)
    ensure_topics(bootstrap_servers, [prefix + t for t in WITHOUT_PERSONAL_DATA], partitions)
