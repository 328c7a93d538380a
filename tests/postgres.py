"""A throwaway PostgreSQL cluster from the machine's binaries (Debian's package), for the tests and the bench."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from shared.local.broker import free_port


def postgres_bindir() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return next((c for c in candidates if (c / "initdb").exists()), None)


@contextlib.contextmanager
def throwaway_postgres(bindir: Path) -> Iterator[str]:
    """Starts a cluster and yields its server URL; stops and removes it on exit."""
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


def fresh_database(server_url: str) -> str:
    """A new empty database on the server: its URL."""
    from sqlalchemy import create_engine, text

    name = f"t_{uuid.uuid4().hex[:10]}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"
