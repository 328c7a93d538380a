"""The ACLs a cluster needs for careflow's services: each service's principal reads the topics it
consumes (its handlers), writes the topics it emits (`Service.emits`) and the dead-letter topics of
what it consumes, and uses its own consumer group and transactional ids — and, when it has deadlines,
its ledger of fired deadlines — nothing else."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.kafka.topics import dlq_topic, fired_deadlines_topic
from shared.service import Service


@dataclass(frozen=True, order=True)
class Acl:
    principal: str
    resource: str   # TOPIC, GROUP, TRANSACTIONAL_ID
    pattern: str    # LITERAL, PREFIXED
    name: str
    operation: str  # READ, WRITE (each implies DESCRIBE)

    def kafka_acls_args(self) -> list[str]:
        option = {"TOPIC": "--topic", "GROUP": "--group", "TRANSACTIONAL_ID": "--transactional-id"}[self.resource]
        return ["--add", "--allow-principal", self.principal, "--operation", self.operation.capitalize(),
                "--resource-pattern-type", self.pattern.lower(), option, self.name]


def principal(service_name: str) -> str:
    """A service's principal: its user on the cluster is its name (the topic prefix names the
    environment's topics, groups and transactional ids, not the user)."""
    return f"User:{service_name}"


def service_acls(service: Service, prefix: str = "") -> list[Acl]:
    who, group = principal(service.name), prefix + service.name
    acls = {Acl(who, "GROUP", "LITERAL", group, "READ"),
            # Transactional ids are `<group>-<instance>-<turn>` (shared.runner.loop).
            Acl(who, "TRANSACTIONAL_ID", "PREFIXED", f"{group}-", "WRITE")}
    for event_type in service.handlers:
        acls.add(Acl(who, "TOPIC", "LITERAL", prefix + event_type, "READ"))
        acls.add(Acl(who, "TOPIC", "LITERAL", dlq_topic(prefix + event_type), "WRITE"))
    for event_type in service.emits:
        acls.add(Acl(who, "TOPIC", "LITERAL", prefix + event_type, "WRITE"))
    if service.deadline_handlers:  # its ledger of fired deadlines, written and read back
        acls.add(Acl(who, "TOPIC", "LITERAL", fired_deadlines_topic(group), "WRITE"))
        acls.add(Acl(who, "TOPIC", "LITERAL", fired_deadlines_topic(group), "READ"))
    return sorted(acls)


def plan(services: Iterable[Service], prefix: str = "") -> list[Acl]:
    return [acl for service in services for acl in service_acls(service, prefix)]


def render(acls: Iterable[Acl]) -> str:
    """The plan as kafka-acls.sh commands an operator can run against their cluster."""
    lines = []
    for acl in acls:
        lines.append("kafka-acls.sh --bootstrap-server \"$BOOTSTRAP\" --command-config admin.properties "
                     + " ".join(acl.kafka_acls_args()))
    return "\n".join(lines)


def bindings(acls: Iterable[Acl]) -> list:
    """The plan as confluent-kafka AclBindings (AdminClient.create_acls)."""
    from confluent_kafka.admin import (AclBinding, AclOperation, AclPermissionType, ResourcePatternType,
                                       ResourceType)

    return [AclBinding(ResourceType[acl.resource], acl.name, ResourcePatternType[acl.pattern], acl.principal, "*",
                       AclOperation[acl.operation], AclPermissionType.ALLOW) for acl in acls]
