"""`careflow up`: the broker (unless one is named), the store, every service as its own process,
optionally the demonstration, then the reports; Ctrl-C stops it all cleanly."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from services import REGISTRY
from shared.config import settings

# Where `careflow up` keeps its store, logs and demonstration files: the working directory's var/.
VAR = Path("var")


class ServiceProcesses:
    """One process per service, logs in a folder; stopped with SIGTERM (then SIGKILL if stuck)."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env, self.log_dir = env, log_dir
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, names: list[str]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in names:
            log = open(self.log_dir / f"{name}.log", "ab")
            self.processes[name] = subprocess.Popen([sys.executable, "-m", "shared.operators.cli", "service", name],
                                                    env=self.env, stdout=log, stderr=log)

    def exited(self) -> dict[str, int]:
        return {n: p.returncode for n, p in self.processes.items() if p.poll() is not None}

    def stop(self, timeout: float = 30) -> dict[str, int]:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = {}
        for name, process in self.processes.items():
            try:
                codes[name] = process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                codes[name] = process.wait()
        return codes


@contextlib.contextmanager
def running_stack(workdir: Path, clock_file: Path | None = None,
                  extra_env: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
    """Yields the environment of a running careflow: broker, migrated store, every service."""
    from shared.local.broker import broker_from_environment
    from shared.kafka import ensure_all_topics
    from shared.store import migrate

    config = settings()
    with broker_from_environment() as bootstrap:
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "DATABASE_URL": config.database_url,
               **(extra_env or {})}
        if clock_file:
            env["CAREFLOW_CLOCK_FILE"] = str(clock_file)
        migrate(config.database_url)
        ensure_all_topics(bootstrap, config.partitions, config.topic_prefix)
        processes = ServiceProcesses(env, workdir / "logs")
        processes.start(list(REGISTRY))
        try:
            yield env
        finally:
            codes = processes.stop()
            failed = {n: c for n, c in codes.items() if c != 0}
            if failed:
                Console(stderr=True).print(f"[red]services that did not stop cleanly: {failed}")


def up(demo: bool, exit_after_demo: bool) -> int:
    from shared.operators import reports
    from shared.clock import set_file_clock
    from shared.store import session_factory

    console = Console()
    workdir = VAR.resolve()
    clock_file = workdir / "clock" if demo else None
    if clock_file:
        clock_file.parent.mkdir(parents=True, exist_ok=True)
        # The demonstration's day starts at 09:00 Vietnam time, inside every permitted contact window.
        vietnam = dt.timezone(dt.timedelta(hours=7))
        set_file_clock(clock_file, dt.datetime.now(vietnam).replace(hour=9, minute=0, second=0, microsecond=0))
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    extra_env = {}
    if demo:
        from shared.local.demo import prepare

        extra_env = prepare(workdir / "demo")
    from shared.console import serve

    with console.status("starting the broker and the services…"):
        stack = running_stack(workdir, clock_file, extra_env)
        env = stack.__enter__()
        web = serve.start(env, workdir / "logs")
    try:
        console.print(f"broker at [bold]{env['KAFKA_BOOTSTRAP_SERVERS']}[/], store at [bold]{settings().database_url}[/], "
                      f"services logging to {workdir / 'logs'}")
        serve.print_logins(console, settings().database_url, with_demo_users=demo)
        if demo:
            from shared.local.demo import run_demo

            run_demo(env, workdir / "demo", clock_file, console)
            with session_factory(settings().database_url)() as session:
                reports.render("Outreach funnel", reports.funnel(session), console)
                reports.render("Subscriber profiles", reports.profiles(session), console)
                reports.render("After-sales care cases", reports.cases(session, _clock_now(clock_file)), console)
        if not exit_after_demo:
            console.print("careflow is running; Ctrl-C stops it.")
            stop.wait()
    finally:
        with console.status("stopping…"):
            web.terminate()
            web.wait(30)
            stack.__exit__(None, None, None)
    console.print("stopped cleanly.")
    return 0


def _clock_now(clock_file: Path | None) -> dt.datetime:
    from shared.clock import clock_for

    return clock_for(str(clock_file) if clock_file else None)()
