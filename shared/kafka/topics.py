"""Topics: one per event type of the contract, each with its dead-letter topic, each keeping its
events (personal data in nearly all of them) for a bounded retention."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic,
                                   ResourceType)

from shared.contract import contracts
from shared.kafka.client import Connection, client_config

log = logging.getLogger("careflow.kafka")
DAY_MS = 24 * 3600 * 1000
# Event types that carry no personal data: they keep the broker's retention, so that a downstream
# subscriber back from a long outage still hears of every erasure.
WITHOUT_PERSONAL_DATA = frozenset({"subject-erased"})


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def fired_deadlines_topic(group: str) -> str:
    """A service's ledger of fired deadlines (`shared.runner.deadlines`): deadline ids, no personal data."""
    return f"{group}.fired-deadlines"


def retention_ms(days: float) -> int:
    return int(days * DAY_MS)


def ensure_topics(connection: Connection, topics: Iterable[str], partitions: int, retention: int | None = None,
                  dead_letters: bool = True) -> None:
    """Creates each topic and (unless `dead_letters` is false) its dead-letter topic when missing, with
    `retention` (ms) when given; an existing topic keeps its partitions, and its retention is set to
    `retention` when it differs."""
    admin = AdminClient(client_config(connection))
    wanted = sorted({name for topic in topics for name in ((topic, dlq_topic(topic)) if dead_letters else (topic,))})
    existing = set(admin.list_topics(timeout=30).topics)
    config = {"retention.ms": str(retention)} if retention is not None else {}
    missing = [NewTopic(t, num_partitions=partitions, replication_factor=-1, config=config)
               for t in wanted if t not in existing]
    if missing:
        for topic, future in admin.create_topics(missing, operation_timeout=30).items():
            _unless_not_ours(future, f"create topic {topic}", KafkaError.TOPIC_ALREADY_EXISTS)
    if retention is not None:
        _bound_retention(admin, [t for t in wanted if t in existing], retention)


# A service's principal on a secured cluster may not manage topics (`careflow acl plan`): the
# administrator creates them and sets their retention; the service goes on and says so.
_NOT_ALLOWED = (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED)


def _unless_not_ours(future, what: str, *tolerated: int):
    try:
        return future.result()
    except KafkaException as exc:
        code = exc.args[0].code()
        if code in _NOT_ALLOWED:
            log.warning("not allowed to manage topics: the cluster's administrator does", extra={"action": what})
            return None
        if code not in tolerated:
            raise
        return None


def _bound_retention(admin: AdminClient, topics: list[str], retention: int) -> None:
    resources = [ConfigResource(ResourceType.TOPIC, t) for t in topics]
    if not resources:
        return
    described = {resource: _unless_not_ours(future, f"describe {resource.name}")
                 for resource, future in admin.describe_configs(resources).items()}
    stale = [resource for resource, config in described.items()
             if config is not None and config["retention.ms"].value != str(retention)]
    for resource in stale:
        resource.add_incremental_config(ConfigEntry("retention.ms", str(retention),
                                                    incremental_operation=AlterConfigOpType.SET))
    for resource, future in admin.incremental_alter_configs(stale).items() if stale else ():
        _unless_not_ours(future, f"set the retention of {resource.name}")


def topic_retention(connection: Connection, topic: str) -> int:
    admin = AdminClient(client_config(connection))
    resource = ConfigResource(ResourceType.TOPIC, topic)
    return int(admin.describe_configs([resource])[resource].result()["retention.ms"].value)


def ensure_all_topics(connection: Connection, partitions: int, prefix: str = "", retention: int | None = None) -> None:
    """Every topic of the contract; `retention` (ms) bounds those that carry personal data."""
    personal = [prefix + t for t in contracts() if t not in WITHOUT_PERSONAL_DATA]
    ensure_topics(connection, personal, partitions, retention)
    ensure_topics(connection, [prefix + t for t in WITHOUT_PERSONAL_DATA], partitions)
