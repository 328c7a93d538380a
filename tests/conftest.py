"""Fixtures: one real Kafka broker for the session, a fresh topic prefix and database per test."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from shared.local.broker import free_port
from shared.config import Settings
from shared.store import migrate


@pytest.fixture(scope="session")
def kafka_bootstrap():
    from shared.local.broker import broker_from_environment

    with broker_from_environment() as bootstrap:
        yield bootstrap


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
    if _postgres_bindir() is None:
        pytest.skip("PostgreSQL binaries not installed (make test installs them)")
    with postgres_cluster() as url:
        yield url


@contextlib.contextmanager
def postgres_cluster():
    """A PostgreSQL cluster in a temporary folder (fsync off), stopped and removed afterwards."""
    bindir = _postgres_bindir()
    # Outside pytest's private temp folder: as root, the server runs as the postgres user.
    root = Path(tempfile.mkdtemp(prefix="careflow-pg-"))
    data, socket_dir = root / "data", root / "socket"
    socket_dir.mkdir()
    user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if user:
        shutil.chown(root, "postgres")
        shutil.chown(socket_dir, "postgres")
    subprocess.run([*user, str(bindir / "initdb"), "-D", str(data), "-U", "careflow", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    port = free_port()
    subprocess.run([*user, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(data / "server.log"), "-o",
                    f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://careflow@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _postgres_bindir() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return next((c for c in candidates if (c / "initdb").exists()), None)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Each store test runs on SQLite (the embedded default) and on PostgreSQL (production)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'careflow.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url = _fresh_postgres_database(server)
    migrate(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'careflow.db'}"
    migrate(url)
    return url


def _fresh_postgres_database(server_url: str) -> str:
    from sqlalchemy import create_engine, text

    name = f"t_{uuid.uuid4().hex[:10]}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def settings_for(kafka_bootstrap, topic_prefix):
    def make(database_url: str, **overrides) -> Settings:
        return Settings(KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, DATABASE_URL=database_url,
                        topic_prefix=topic_prefix, partitions=3, **overrides)
    return make
