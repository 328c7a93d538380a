"""careflow on a secured cluster: the launched broker's SASL_SSL listener (TLS from a CA made at
start, SCRAM users, StandardAuthorizer) with the ACLs of `careflow acl plan`. Nothing here turns
security off: every client authenticates over TLS, and the service as its own principal."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer

from shared.config import Settings
from shared.kafka.acls import service_acls
from shared.local.broker import KafkaBroker
from shared.local.broker.security import ADMIN, BrokerSecurity
from tests.integration import relay_service
from tests.integration.test_runtime import sigkill_then_restart_is_exactly_once
from tests.support import wait_for

pytestmark = pytest.mark.integration
RELAY = relay_service.SERVICE.name


@pytest.fixture(scope="module")
def secured():
    security = BrokerSecurity(users={RELAY: "relay-password"})
    with KafkaBroker(security=security, heap="512m") as broker:
        yield broker.bootstrap, security


def _settings(secured, user: str, database_url: str = "sqlite://", **overrides) -> Settings:
    bootstrap, security = secured
    return Settings(KAFKA_BOOTSTRAP_SERVERS=bootstrap, DATABASE_URL=database_url, partitions=3,
                    kafka_security_protocol="SASL_SSL", kafka_sasl_username=user,
                    kafka_sasl_password=security.users[user], kafka_ssl_ca_file=str(security.ca_file), **overrides)


def _grant_relay(secured, prefix: str) -> None:
    bootstrap, security = secured
    security.grant(bootstrap, service_acls(relay_service.SERVICE, prefix))


def _errors_of(config: dict, timeout: float = 15) -> list[KafkaError]:
    """The errors a client with `config` meets trying to reach the broker (it never gets metadata)."""
    errors: list[KafkaError] = []
    producer = Producer({**config, "error_cb": errors.append})
    with pytest.raises(KafkaException):
        producer.list_topics(timeout=3)
    deadline = time.monotonic() + timeout
    while not errors and time.monotonic() < deadline:
        producer.poll(0.2)
    return errors


def test_a_service_as_its_own_principal_is_exactly_once_through_sigkill(secured, sqlite_url, tmp_path, topic_prefix):
    _grant_relay(secured, topic_prefix)
    admin = _settings(secured, ADMIN, sqlite_url, topic_prefix=topic_prefix, batch_size=50)
    relay = _settings(secured, RELAY, sqlite_url, topic_prefix=topic_prefix, batch_size=50)
    sigkill_then_restart_is_exactly_once(admin, relay, sqlite_url, tmp_path / "relay.log", total=600)


def test_a_wrong_password_is_refused(secured):
    bootstrap, security = secured
    errors = _errors_of(security.client(bootstrap, RELAY, password="not-the-password"))
    assert any(e.code() == KafkaError._AUTHENTICATION for e in errors), errors


def test_a_client_without_tls_cannot_connect(secured):
    bootstrap, security = secured
    config = {**security.client(bootstrap, RELAY), "security.protocol": "SASL_PLAINTEXT"}
    config.pop("ssl.ca.location")
    errors = _errors_of(config)
    assert errors and all(e.code() != KafkaError._AUTHENTICATION for e in errors), errors  # not even that far


def test_a_service_writing_a_topic_it_does_not_own_is_not_authorized(secured, topic_prefix):
    from shared.kafka import ensure_all_topics
    from shared.kafka.client import client_config

    ensure_all_topics(_settings(secured, ADMIN), 3, topic_prefix)
    _grant_relay(secured, topic_prefix)
    producer = Producer(client_config(_settings(secured, RELAY), **{"message.timeout.ms": 10000}))

    def produced(topic: str) -> KafkaError | None:
        outcome = []
        try:  # refused at once when the client's metadata already says so, else on delivery
            producer.produce(topic_prefix + topic, b"x", on_delivery=lambda error, _m: outcome.append(error))
        except KafkaException as exc:
            return exc.args[0]
        producer.flush(20)
        return outcome[0]
    # What it emits, once the broker has the new ACLs (they reach the authorizer through the metadata log).
    wait_for(lambda: produced("lead-escalated") is None, timeout=30, message="the relay's ACLs in force")
    assert produced("lead-normalized").code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
