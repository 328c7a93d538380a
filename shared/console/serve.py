"""`careflow console` and `careflow users`: the console's entry points (thin)."""

from __future__ import annotations

import getpass
import os
import secrets
import sys
from pathlib import Path

from shared.config import settings

DEFAULT_PORT = 8080


def url(host: str, port: int) -> str:
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/"


def build_app(upload_dir: Path = Path("var/uploads")):
    """The console on the configured store and broker; events published through one idempotent producer."""
    from shared.clock import clock_for
    from shared.console.app import create_app
    from shared.kafka import Publisher, ensure_all_topics
    from shared.store import session_factory

    config = settings()
    ensure_all_topics(config.kafka_bootstrap_servers, config.partitions, config.topic_prefix)
    publisher = Publisher(config.kafka_bootstrap_servers, "careflow-console", config.topic_prefix)

    def publish(event_type: str, **fields):
        event = publisher.publish(event_type, **fields)
        publisher.flush(15)
        return event

    secret = os.environ.get("CAREFLOW_CONSOLE_SECRET")
    if not secret:
        print("CAREFLOW_CONSOLE_SECRET is not set: sessions end when the console restarts", file=sys.stderr)
        secret = secrets.token_urlsafe(32)
    return create_app(session_factory(config.database_url), publish, clock_for(config.clock_file), secret, upload_dir,
                      lambda: Publisher(config.kafka_bootstrap_servers, "careflow-console-import", config.topic_prefix),
                      config)


def run(host: str, port: int) -> int:
    import uvicorn

    from shared.store import migrate

    migrate(settings().database_url)
    print(f"careflow console at {url(host, port)}", flush=True)
    uvicorn.run(build_app(), host=host, port=port, log_level="warning")
    return 0


def add_user(username: str, role: str, unit: str | None, password_file: Path | None) -> int:
    from shared.clock import utc_now
    from shared.console.access import AccessError, add_user as add
    from shared.store import migrate, session_factory

    if password_file:
        password = password_file.read_text(encoding="utf-8").strip()
    else:
        password = getpass.getpass(f"password for {username}: ")
        if password != getpass.getpass("again: "):
            raise SystemExit("the passwords differ")
    migrate(settings().database_url)
    with session_factory(settings().database_url)() as session:
        try:
            add(session, username, role, password, unit, utc_now())
        except AccessError as exc:
            raise SystemExit(str(exc)) from None
        session.commit()
    print(f"user {username} ({role}{' ' + unit if unit else ''}) added")
    return 0


# One user per role for `careflow up --demo`: (name, role, unit).
DEMO_USERS = (("admin", "admin", None), ("tct", "tct_supervisor", None), ("bdt01", "bdt_staff", "BDT-01"),
              ("bdt79", "bdt_staff", "BDT-79"), ("cskh", "care_agent", None),
              ("tongdai", "callcentre_supervisor", None), ("dpo", "dpo", None))


def demo_users(database_url: str) -> list[tuple[str, str, str | None, str]]:
    """Creates the demonstration's users with fresh passwords (once); returns (name, role, unit, password)."""
    from shared.clock import utc_now
    from shared.console.access import add_user as add
    from shared.store import session_factory
    from shared.store.models import ConsoleUser

    created = []
    with session_factory(database_url)() as session:
        for name, role, unit in DEMO_USERS:
            if session.get(ConsoleUser, name) is None:
                password = secrets.token_urlsafe(9)
                add(session, name, role, password, unit, utc_now())
                created.append((name, role, unit, password))
        session.commit()
    return created


def start(env: dict[str, str], log_dir: Path, port: int = DEFAULT_PORT):
    """The console as a process of `careflow up` (its own log, a session secret for its lifetime)."""
    import subprocess

    log_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_dir / "console.log", "ab")
    env = {**env, "CAREFLOW_CONSOLE_SECRET": env.get("CAREFLOW_CONSOLE_SECRET") or secrets.token_urlsafe(32)}
    return subprocess.Popen([sys.executable, "-m", "shared.operators.cli", "console", "--port", str(port)],
                            env=env, stdout=log, stderr=log)


def print_logins(console, database_url: str, with_demo_users: bool, port: int = DEFAULT_PORT) -> None:
    """The console's address and, on a demonstration, its users (created once, passwords shown once)."""
    console.print(f"operator console at [bold]{url('127.0.0.1', port)}[/]")
    for name, role, unit, password in (demo_users(database_url) if with_demo_users else ()):
        console.print(f"  sign in as [bold]{name}[/] / [bold]{password}[/]  ({role}{' ' + unit if unit else ''})")
