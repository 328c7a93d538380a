"""Ledgers: small topics written in the same Kafka transaction as the records they account for, so
that reading one in the committed view tells, after any crash, whether that transaction committed —
the dead letters replayed (`shared.operators.dlq`) and each service's fired deadlines
(`shared.runner.deadlines`)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from shared.kafka.client import Connection, client_config


class Unsettled(Exception):
    """The end of a topic was not reached in time: a transaction on it is still open (the committed
    view stops before it until it ends) or the broker is slow. What the topic holds is not known yet."""


def read_committed(connection: Connection, topics: Iterable[str], timeout: float | None = None,
                   group: str | None = None) -> Iterator[Message]:
    """Every committed record of `topics`, from the beginning to their end as of now. With `timeout`
    (seconds), raises `Unsettled` when the end is not reached by then. Partitions are assigned, not
    subscribed: `group` (a service's own, which its ACLs allow) is never joined nor committed to."""
    consumer = Consumer(client_config(connection, **{"group.id": group or f"careflow-reader-{uuid.uuid4().hex}",
                                                     "isolation.level": "read_committed", "enable.auto.commit": False}))
    give_up = None if timeout is None else time.monotonic() + timeout
    bound = 30 if timeout is None else timeout
    try:
        metadata = consumer.list_topics(timeout=bound)
        ends = {}
        for topic in topics:
            for partition in metadata.topics[topic].partitions if topic in metadata.topics else ():
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=bound)
                if high > low:
                    ends[(topic, partition)] = high
        consumer.assign([TopicPartition(t, p, 0) for t, p in ends])
        while ends:
            if give_up is not None and time.monotonic() > give_up:
                raise Unsettled(f"{sorted({t for t, _ in ends})} not read to their end in {timeout} s")
            message = consumer.poll(0.5 if give_up is not None else 5)
            if message is None:
                # The last offsets may be transaction markers, never delivered: the position tells.
                for tp in consumer.position([TopicPartition(t, p) for t, p in ends]):
                    if tp.offset >= ends.get((tp.topic, tp.partition), 0):
                        ends.pop((tp.topic, tp.partition), None)
                continue
            if message.error():
                raise KafkaException(message.error())
            yield message
            if message.offset() + 1 >= ends.get((message.topic(), message.partition()), 0):
                ends.pop((message.topic(), message.partition()), None)
    finally:
        consumer.close()
