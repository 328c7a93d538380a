"""The settings every Kafka client careflow makes starts from (services, CLI, console, bench):
the bootstrap servers and the cluster's security (SASL, TLS), in this one place."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from shared.config import Settings

# What a client is pointed at: careflow's settings (with the cluster's security), or a bare
# bootstrap address of a cluster without authentication (the tests' broker, a local one).
Connection = Settings | str

from confluent_kafka import KafkaError, KafkaException


class KafkaSecurityError(ValueError):
    """The security settings are incomplete: the message names the missing setting."""


def security_config(settings: Settings) -> dict:
    """librdkafka's security properties from the settings; the password stays out of every message."""
    protocol = settings.kafka_security_protocol
    config: dict = {"security.protocol": protocol}
    if protocol.startswith("SASL_"):
        if not settings.kafka_sasl_username:
            raise KafkaSecurityError(f"{protocol} needs CAREFLOW_KAFKA_SASL_USERNAME")
        config.update({"sasl.mechanism": settings.kafka_sasl_mechanism, "sasl.username": settings.kafka_sasl_username,
                       "sasl.password": _password(settings)})
    if protocol.endswith("SSL"):
        config["ssl.endpoint.identification.algorithm"] = "https"
        for name, value in (("ssl.ca.location", settings.kafka_ssl_ca_file),
                            ("ssl.certificate.location", settings.kafka_ssl_certificate_file),
                            ("ssl.key.location", settings.kafka_ssl_key_file)):
            if value:
                config[name] = value
    return config


def _password(settings: Settings) -> str:
    if settings.kafka_sasl_password is not None:
        return settings.kafka_sasl_password.get_secret_value()
    if settings.kafka_sasl_password_file:
        return Path(settings.kafka_sasl_password_file).read_text(encoding="utf-8").strip()
    raise KafkaSecurityError("SASL needs CAREFLOW_KAFKA_SASL_PASSWORD or CAREFLOW_KAFKA_SASL_PASSWORD_FILE")


def client_config(connection: Connection, **overrides) -> dict:
    if isinstance(connection, str):
        return {"bootstrap.servers": connection, **overrides}
    return {"bootstrap.servers": connection.kafka_bootstrap_servers, **security_config(connection), **overrides}


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
