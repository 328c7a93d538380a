"""docker-compose.yml deploys what exists: every service folder, the broker and the database."""

import yaml

from shared.stack import ROOT, service_names


def test_compose_runs_every_service_there_is():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    deployed = {name for name, spec in compose.items() if "careflow service" in " ".join(spec.get("command", []))}
    assert deployed == set(service_names())
    for name in deployed:
        assert compose[name]["command"][-1].endswith(f"careflow service {name}")


def test_compose_has_the_official_kafka_image_and_postgresql():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert compose["kafka"]["image"].startswith("apache/kafka:4.")
    assert compose["postgres"]["image"].startswith("postgres:")
