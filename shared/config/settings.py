"""Configuration from the environment (twelve-factor), one place for every service."""

from __future__ import annotations

import socket
from functools import cache
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAREFLOW_", extra="ignore")

    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    # How every Kafka client careflow makes authenticates (shared.kafka.client.client_config).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    # The password itself, or a file holding it (a mounted secret); never logged.
    kafka_sasl_password: SecretStr | None = None
    kafka_sasl_password_file: str | None = None
    # TLS: the CA that signed the brokers' certificates; a client certificate and key when the brokers ask.
    kafka_ssl_ca_file: str | None = None
    kafka_ssl_certificate_file: str | None = None
    kafka_ssl_key_file: str | None = None
    database_url: str = Field("sqlite:///var/careflow.db", validation_alias="DATABASE_URL")
    # Prepended to every topic and consumer group: several environments (or tests) share a cluster.
    topic_prefix: str = ""
    partitions: int = 6
    batch_size: int = 500
    # A handler failing with an unexpected error is tried this many times, with capped
    # exponential backoff, before its event goes to the dead-letter topic.
    max_tries: int = 5
    retry_backoff_seconds: float = 0.2
    retry_backoff_cap_seconds: float = 5.0
    # Distinguishes instances of one service: part of the transactional id, so a restarted
    # instance fences its previous incarnation instead of waiting for its transaction to time out.
    # Stable per slot ("<host>-<slot>"), never the process id: a second instance of a service on one
    # host takes its own slot (`careflow up` numbers them), or the two fence each other.
    instance_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-0")
    # Transactional producers an instance takes in turn, one transaction each (see ServiceRunner).
    transactional_producers: int = Field(2, ge=1)
    # How soon a crashed instance's partitions move to the others.
    session_timeout_ms: int = 10000
    metrics_port: int | None = None
    # The bound of every blocking Kafka client call (transactions, flush, close): past it the call is
    # given up, its transaction aborted or its producer replaced, and the batch runs again.
    kafka_call_timeout_seconds: float = 15.0
    # How long the coordinator lets a transaction stay open before it aborts it (a broker or an
    # instance away that long): its batch runs again.
    transaction_timeout_ms: int = 30000
    # The largest record (key and value) a handler may emit: the producer's message.max.bytes.
    max_message_bytes: int = 1_000_000
    tick_seconds: float = 1.0
    # A file holding the current time (ISO 8601): tests and demos move time forward without sleeping.
    clock_file: str | None = None
    # Enrichment sources for the normalizer.
    registry_file: str | None = None
    registry_url: str | None = None
    # The HTTP registry's circuit breaker: this many failures in a row open it for the cool-down.
    registry_failures_to_open: int = 3
    registry_cool_down_seconds: float = 30.0
    # Process B: the occupation and hobby catalogues (a JSON file; the shipped one by default).
    profile_catalogue: str | None = None
    # After-sales care: owners, SLAs and the reopen window (a JSON file; the shipped one by default).
    care_policy: str | None = None
    # Contact rules: windows, caps, consent (a JSON file; the shipped one by default).
    contact_policy: str | None = None
    # Process A timings.
    reply_wait_hours: float = 72
    call_attempts_per_number: int = 3
    call_retry_spacing_minutes: float = 120
    log_level: str = "INFO"
    # Data protection (Law 91/2025/QH15, Decree 356/2025/NĐ-CP). The key of the keyed hashes
    # (HMAC-SHA256) that name erased people in suppression entries and requests: the same for every
    # service, kept secret; erasure refuses to run without it.
    privacy_key: SecretStr | None = None
    # How long topics keep events (personal data in nearly all of them), dead-letter topics included:
    # a week outlasts a consumer outage over a long weekend, and bounds the copies an erasure cannot reach.
    personal_data_retention_days: float = Field(7, gt=0)
    # Deadlines of data-subject requests, in days from receipt. Decree 356/2025/NĐ-CP: withdrawal of
    # consent completed within 15 days; access and erasure: the sources we found say "10 to 20 days"
    # without the exact split, so the conservative 10 days (see /work/notes/privacy.md).
    dsr_access_days: float = 10
    dsr_withdrawal_days: float = 15
    dsr_erasure_days: float = 10


@cache
def settings() -> Settings:
    return Settings()
