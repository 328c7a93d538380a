"""Fixtures: one real Kafka broker for the session, a fresh topic prefix and database per test."""

from __future__ import annotations

import gc
import os
import uuid

import pytest

from shared.config import Settings
from shared.store import migrate
from tests.postgres import fresh_database, postgres_bindir, throwaway_postgres


@pytest.fixture(scope="session")
def kafka_bootstrap():
    from shared.local.broker import broker_from_environment

    with broker_from_environment() as bootstrap:
        yield bootstrap
        # Clients that tests left in reference cycles (a console app's publishers) are closed while their
        # broker still answers: closed at exit instead, librdkafka logs its failed reconnections after
        # the summary.
        gc.collect()


@pytest.fixture
def topic_prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}."


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL cluster from the machine's binaries (Debian's package), or the
    server named by CAREFLOW_TEST_POSTGRES_URL."""
    if url := os.environ.get("CAREFLOW_TEST_POSTGRES_URL"):
        yield url
        return
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL binaries not installed (make test installs them)")
    with throwaway_postgres(bindir) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Each store test runs on SQLite (the embedded default) and on PostgreSQL (production)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'careflow.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url = fresh_database(server)
    migrate(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'careflow.db'}"
    migrate(url)
    return url


@pytest.fixture
def settings_for(kafka_bootstrap, topic_prefix):
    def make(database_url: str, **overrides) -> Settings:
        return Settings(KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, DATABASE_URL=database_url,
                        topic_prefix=topic_prefix, partitions=3, **overrides)
    return make
