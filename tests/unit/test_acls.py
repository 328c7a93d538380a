"""The ACL plan derives from the registry: each service reads what it consumes, writes what it
declares it emits, the dead-letter topics of what it consumes and, with deadlines, its ledger of
fired deadlines; an undeclared emit fails."""

from __future__ import annotations

import pytest

import services
from shared.kafka.acls import plan, render, service_acls
from shared.kafka.client import KafkaSecurityError, client_config
from shared.config import Settings
from shared.service import Service
from tests.handlers import InProcess


def test_the_normalizer_may_read_its_input_and_write_its_outputs_and_dead_letters_only():
    acls = {(a.operation, a.resource, a.pattern, a.name) for a in service_acls(services.load("normalizer"), "prod.")}
    assert acls == {("READ", "TOPIC", "LITERAL", "prod.lead-imported"),
                    ("WRITE", "TOPIC", "LITERAL", "prod.lead-imported.dlq"),
                    ("WRITE", "TOPIC", "LITERAL", "prod.lead-normalized"),
                    ("WRITE", "TOPIC", "LITERAL", "prod.lead-escalated"),
                    ("READ", "GROUP", "LITERAL", "prod.normalizer"),
                    ("WRITE", "TRANSACTIONAL_ID", "PREFIXED", "prod.normalizer-")}
    assert {a.principal for a in service_acls(services.load("normalizer"), "prod.")} == {"User:normalizer"}


def test_a_service_with_deadlines_may_write_and_read_back_its_ledger_of_fired_deadlines_only():
    topics = {(a.operation, a.name) for a in service_acls(services.load("replies"), "prod.") if a.resource == "TOPIC"}
    assert {("WRITE", "prod.replies.fired-deadlines"), ("READ", "prod.replies.fired-deadlines")} <= topics
    assert not any("fired-deadlines" in name for _, name in
                   {(a.operation, a.name) for a in service_acls(services.load("normalizer"), "prod.")})


def test_the_plan_covers_every_registered_service_as_kafka_acls_commands():
    acls = plan(services.load(name) for name in services.REGISTRY)
    assert {a.principal for a in acls} == {f"User:{name}" for name in services.REGISTRY}
    text = render(acls)
    assert "--allow-principal User:privacy --operation Write --resource-pattern-type literal --topic subject-erased" in text


def test_a_service_emitting_an_event_it_does_not_declare_fails_its_in_process_test():
    def sneaky(event, ctx):
        ctx.emit("lead-escalated", lead_id=event.lead_id, owner="TCT", reason="not_found", detail=None)

    service = Service(name="sneaky", handlers={"lead-imported": sneaky}, emits=("lead-normalized",))
    harness = InProcess(service)
    with pytest.raises(AssertionError, match="sneaky emitted lead-escalated"):
        harness.handle("lead-imported", lead_id="mst:0100233488", source="t", row_number=1)


def test_sasl_settings_reach_every_client_and_need_their_credentials(tmp_path):
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    settings = Settings(KAFKA_BOOTSTRAP_SERVERS="b:9093", kafka_security_protocol="SASL_SSL",
                        kafka_sasl_username="segmenter", kafka_sasl_password_file=str(secret),
                        kafka_ssl_ca_file="/ca.pem")
    config = client_config(settings, **{"group.id": "g"})
    assert config["sasl.password"] == "s3cret" and config["sasl.mechanism"] == "SCRAM-SHA-512"
    assert config["security.protocol"] == "SASL_SSL" and config["ssl.ca.location"] == "/ca.pem"
    assert "s3cret" not in repr(settings)
    with pytest.raises(KafkaSecurityError, match="PASSWORD"):
        client_config(Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="u"))
