"""docker-compose.yml deploys what exists: every registered service, the broker and the database,
each installed from the package as built (not the source tree)."""

from pathlib import Path

import yaml

from services import REGISTRY

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def _services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_compose_runs_every_registered_service_under_its_name():
    compose = _services()
    deployed = {name for name, spec in compose.items() if "careflow service" in " ".join(spec.get("command", []))}
    assert deployed == set(REGISTRY)
    for name in deployed:
        assert compose[name]["command"][-1].endswith(f"careflow service {name}")


def test_compose_has_the_official_kafka_image_and_postgresql():
    compose = _services()
    assert compose["kafka"]["image"].startswith("apache/kafka:4.")
    assert compose["postgres"]["image"].startswith("postgres:")


def test_compose_serves_the_operator_console():
    console = _services()["console"]
    assert console["command"][-1].endswith("careflow console --host 0.0.0.0 --port 8080")
    assert "8080:8080" in console["ports"] and "CAREFLOW_CONSOLE_SECRET" in console["environment"]
