"""`careflow up`: the broker (unless one is named), the store, every service as its own supervised
process, optionally the demonstration, then the reports; Ctrl-C stops it all cleanly. The broker's
data and the store live in var/ and survive a stop: the next `careflow up` goes on from them."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from sqlalchemy.engine import make_url

from services import REGISTRY
from shared.config import settings

# Where `careflow up` keeps its store, logs and demonstration files: the working directory's var/.
VAR = Path("var")


class ServiceProcesses:
    """One process per service, logs in a folder, supervised: a service that exits is started again
    after a backoff (1 s, doubling to 30 s; back to 1 s once it ran a minute), under the same instance
    id, so that the new process fences what the old one left open. Stopped with SIGTERM (then SIGKILL)."""

    BACKOFF_FIRST, BACKOFF_MAX, STEADY_SECONDS = 1.0, 30.0, 60.0

    def __init__(self, env: dict[str, str], log_dir: Path, console: Console | None = None):
        self.env, self.log_dir = env, log_dir
        self.console = console or Console(stderr=True)
        self.processes: dict[str, subprocess.Popen] = {}
        self.restarts: dict[str, int] = {}
        self._started_at: dict[str, float] = {}
        self._backoff: dict[str, float] = {}
        self._due: dict[str, float] = {}
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    def start(self, names: list[str]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in names:
            self._spawn(name)
        self._supervisor = threading.Thread(target=self._supervise, name="supervisor", daemon=True)
        self._supervisor.start()

    def _spawn(self, name: str, slot: int = 0) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")
        # The instance id of the service's slot, not of the process: a restart fences its predecessor.
        env = {**self.env, "CAREFLOW_INSTANCE_ID": f"{socket.gethostname()}-{slot}"}
        self.processes[name] = subprocess.Popen([sys.executable, "-m", "shared.operators.cli", "service", name],
                                                env=env, stdout=log, stderr=log)
        self._started_at[name] = time.monotonic()

    def _supervise(self) -> None:
        while not self._stopping.wait(0.5):
            now = time.monotonic()
            for name, process in list(self.processes.items()):
                if process.poll() is None or self._stopping.is_set():
                    continue
                if name not in self._due:
                    ran = now - self._started_at[name]
                    backoff = self.BACKOFF_FIRST if ran > self.STEADY_SECONDS else min(
                        self.BACKOFF_MAX, self._backoff.get(name, self.BACKOFF_FIRST / 2) * 2)
                    self._backoff[name] = backoff
                    self._due[name] = now + backoff
                    self.console.print(f"[yellow]service {name} exited with code {process.returncode} after "
                                       f"{ran:.0f} s; restarting in {backoff:g} s (see {self.log_dir / name}.log)")
                elif now >= self._due.pop(name):
                    self.restarts[name] = self.restarts.get(name, 0) + 1
                    self._spawn(name)
                    self.console.print(f"[yellow]service {name} restarted (restart {self.restarts[name]})")

    def exited(self) -> dict[str, int]:
        return {n: p.returncode for n, p in self.processes.items() if p.poll() is not None}

    def stop(self, timeout: float = 30) -> dict[str, int]:
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join()
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
def running_stack(workdir: Path, clock_file: Path | None = None, extra_env: dict[str, str] | None = None,
                  console: Console | None = None) -> Iterator[dict[str, str]]:
    """Yields the environment of a running careflow: broker (its data in `workdir`/kafka, kept from one
    start to the next like the store), migrated store, every service under supervision."""
    from shared.local.broker import broker_from_environment
    from shared.kafka import ensure_all_topics, retention_ms
    from shared.store import migrate

    config = settings()
    with broker_from_environment(workdir / "kafka") as bootstrap:
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "DATABASE_URL": config.database_url,
               **(extra_env or {})}
        if clock_file:
            env["CAREFLOW_CLOCK_FILE"] = str(clock_file)
        migrate(config.database_url)
        ensure_all_topics(bootstrap, config.partitions, config.topic_prefix,
                          retention_ms(config.personal_data_retention_days))
        processes = ServiceProcesses(env, workdir / "logs", console)
        processes.start(list(REGISTRY))
        try:
            yield env
        finally:
            codes = processes.stop()
            failed = {n: c for n, c in codes.items() if c != 0}
            if failed:
                Console(stderr=True).print(f"[red]services that did not stop cleanly: {failed}")
            if processes.restarts:
                Console(stderr=True).print(f"[yellow]services restarted meanwhile: {processes.restarts}")


def demo_namespace(workdir: Path) -> Path:
    """The demonstration plays in a namespace of its own on every run: its own topic prefix and, on
    the embedded store, its own database. The store and the broker keep every earlier run's data and
    still agree; the demonstration never meets the leads, calls and cases of an earlier run."""
    run = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = workdir / "demo" / run
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["CAREFLOW_TOPIC_PREFIX"] = f"{settings().topic_prefix}demo-{run}."
    if make_url(settings().database_url).get_backend_name() == "sqlite":
        os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'careflow.db'}"
    else:
        Console(stderr=True).print("[yellow]the demonstration shares the configured store: run it on an empty database")
    settings.cache_clear()
    return folder


def up(demo: bool, exit_after_demo: bool) -> int:
    from shared.operators import reports
    from shared.clock import set_file_clock
    from shared.store import session_factory

    console = Console()
    workdir = VAR.resolve()
    folder = demo_namespace(workdir) if demo else None
    clock_file = folder / "clock" if folder else None
    if clock_file:
        # The demonstration's day starts at 09:00 Vietnam time, inside every permitted contact window.
        vietnam = dt.timezone(dt.timedelta(hours=7))
        set_file_clock(clock_file, dt.datetime.now(vietnam).replace(hour=9, minute=0, second=0, microsecond=0))
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    extra_env = {}
    if folder:
        from shared.local.demo import prepare

        extra_env = prepare(folder)
    from shared.console import serve

    with console.status("starting the broker and the services…"):
        stack = running_stack(workdir, clock_file, extra_env, console)
        env = stack.__enter__()
        web = serve.start(env, workdir / "logs")
    try:
        console.print(f"broker at [bold]{env['KAFKA_BOOTSTRAP_SERVERS']}[/], store at [bold]{settings().database_url}[/], "
                      f"services logging to {workdir / 'logs'}")
        serve.print_logins(console, settings().database_url, with_demo_users=demo)
        if folder:
            from shared.local.demo import run_demo

            run_demo(env, folder, clock_file, console)
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
