"""The Kafka adapter: client configuration, topics, and a publisher for operator tools."""

from shared.kafka.client import client_config, produce
from shared.kafka.publisher import Publisher
from shared.kafka.topics import dlq_topic, ensure_all_topics, ensure_topics, retention_ms, topic_retention

__all__ = ["Publisher", "client_config", "dlq_topic", "ensure_all_topics", "ensure_topics", "produce", "retention_ms",
           "topic_retention"]
