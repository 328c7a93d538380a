"""Helpers for tests that talk to the real broker or run services as processes."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from shared.contract import codec
from shared.kafka.client import Connection, client_config
from shared.local.demo import wait_for  # noqa: F401  (the tests' one way to wait)

ROOT = Path(__file__).resolve().parents[1]


class TopicReader:
    """Reads a topic from the beginning in the committed view (read_committed), as downstream would."""

    def __init__(self, connection: Connection, topic: str):
        self.topic = topic
        self.consumer = Consumer(client_config(connection, **{
            "group.id": f"reader-{uuid.uuid4().hex}", "isolation.level": "read_committed",
            "auto.offset.reset": "earliest", "enable.auto.commit": False}))
        self.consumer.subscribe([topic])
        self.messages = []

    def read_until(self, count: int, timeout: float = 60, settle: float = 0.0) -> list:
        """Reads until `count` messages arrived (then `settle` seconds more, to see any extra)."""
        deadline = time.monotonic() + timeout
        settle_until = None
        while time.monotonic() < deadline:
            for message in self.consumer.consume(500, timeout=0.2):
                if message.error() is None:
                    self.messages.append(message)
            if len(self.messages) >= count:
                settle_until = settle_until or time.monotonic() + settle
                if time.monotonic() >= settle_until:
                    break
        return self.messages

    def events(self, event_type: str) -> list:
        return [codec.decode(event_type, m.value()) for m in self.messages]

    def close(self) -> None:
        self.consumer.close()


def committed_lag(bootstrap: str, group: str, topic: str, partitions: int) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        committed = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        lag = 0
        for tp in committed:
            _, high = consumer.get_watermark_offsets(tp, timeout=10)
            lag += high - max(tp.offset, 0)
        return lag
    finally:
        consumer.close()


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def run_cli(settings, *args: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    """`careflow ARGS` as an operator runs it, against the settings' broker, store and topic prefix."""
    env = {"KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers, "DATABASE_URL": settings.database_url,
           "CAREFLOW_TOPIC_PREFIX": settings.topic_prefix, "PATH": "/usr/bin:/bin", **kafka_security_env(settings),
           **(extra_env or {})}
    return subprocess.run([sys.executable, "-m", "shared.operators.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def kafka_security_env(settings) -> dict[str, str]:
    """The CAREFLOW_KAFKA_* variables that give a child process the same Kafka security as `settings`."""
    env = {}
    for name in ("kafka_security_protocol", "kafka_sasl_mechanism", "kafka_sasl_username", "kafka_sasl_password",
                 "kafka_sasl_password_file", "kafka_ssl_ca_file", "kafka_ssl_certificate_file", "kafka_ssl_key_file"):
        value = getattr(settings, name)
        if value is not None:
            env[f"CAREFLOW_{name.upper()}"] = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    return env


def start_service(name: str, settings, *, instance_id: str = "0", extra_env: dict | None = None,
                  log_path: Path | None = None) -> subprocess.Popen:
    """Runs `careflow service NAME` as its own process, as production would."""
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
           "DATABASE_URL": settings.database_url, "CAREFLOW_TOPIC_PREFIX": settings.topic_prefix,
           "CAREFLOW_PARTITIONS": str(settings.partitions), "CAREFLOW_INSTANCE_ID": instance_id,
           "CAREFLOW_BATCH_SIZE": str(settings.batch_size), "CAREFLOW_MAX_TRIES": str(settings.max_tries),
           "CAREFLOW_RETRY_BACKOFF_SECONDS": str(settings.retry_backoff_seconds), **kafka_security_env(settings),
           **(extra_env or {})}
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "shared.operators.cli", "service", name], cwd=ROOT, env=env,
                            stdout=out, stderr=out)

