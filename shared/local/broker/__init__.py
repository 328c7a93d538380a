"""The local Apache Kafka broker: Kafka 4.x in KRaft mode, one node, from Maven Central.

Maven resolves `org.apache.kafka:kafka_2.13` and its runtime dependencies from the pom beside this
file into a cache folder once; every later start reuses it. The broker then runs as a plain `java`
process on free ports with its data in a temporary folder, and is gone when the context exits.

`broker_from_environment()` is what the tests, `careflow up` and `make bench` use: the broker named
by KAFKA_BOOTSTRAP_SERVERS if set, testcontainers' Kafka if CAREFLOW_KAFKA=testcontainers (needs a
Docker engine), otherwise this launcher.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import hashlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from shared.local.broker.security import BrokerSecurity

log = logging.getLogger("careflow.broker")

HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
LOG4J_CONFIG = HERE / "log4j2.properties"
SHUTDOWN_GRACE_SECONDS = 20


class BrokerError(RuntimeError):
    pass


def cache_root() -> Path:
    return Path(os.environ.get("CAREFLOW_CACHE", Path.home() / ".cache" / "careflow"))


def broker_libraries() -> Path:
    """The folder of broker jars, resolved by Maven on first use. Keyed by the pom's hash so that a
    version change in the pom resolves again instead of reusing stale jars."""
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:12]
    lib = cache_root() / f"kafka-{digest}" / "lib"
    marker = lib / ".complete"
    if marker.exists():
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError("Maven (mvn) is needed to fetch the Kafka broker: install it, or set KAFKA_BOOTSTRAP_SERVERS")
    staging = Path(tempfile.mkdtemp(prefix="lib-", dir=_ensure(lib.parent)))
    print(f"careflow: fetching Apache Kafka from Maven Central into {lib.parent} (once)…", file=sys.stderr)
    result = subprocess.run(
        [mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies", f"-DoutputDirectory={staging}",
         "-DincludeScope=runtime"], capture_output=True, text=True)
    if result.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
        shutil.rmtree(staging, ignore_errors=True)
        raise BrokerError(f"Maven could not resolve the broker:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    (staging / ".complete").touch()
    try:
        staging.rename(lib)
    except OSError:  # another process finished first; theirs is as good as ours
        shutil.rmtree(staging, ignore_errors=True)
    return lib


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _die_with_parent() -> None:
    """Linux: the broker gets SIGTERM when the Python process that started it dies, even by SIGKILL,
    so that no broker is left behind."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class KafkaBroker:
    """A single-node KRaft broker (combined broker and controller) on 127.0.0.1."""

    def __init__(self, workdir: Path | None = None, heap: str = "768m", security: BrokerSecurity | None = None):
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="careflow-kafka-"))
        # None: one PLAINTEXT listener; otherwise SASL_SSL with ACLs (security.py).
        self.security = security
        self._owns_workdir = workdir is None
        self.heap = heap
        self.port = free_port()
        self.controller_port = free_port()
        self.process: subprocess.Popen | None = None
        self.start_seconds: float | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def properties(self) -> str:
        data = self.workdir / "data"
        listeners = self.security.properties(self.port, self.controller_port) if self.security else [
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"]
        return "\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            *listeners,
            "controller.listener.names=CONTROLLER",
            f"controller.quorum.bootstrap.servers=127.0.0.1:{self.controller_port}",
            f"log.dirs={data}",
            # One node: every internal topic has one replica.
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "offsets.topic.num.partitions=6",
            "transaction.state.log.num.partitions=6",
            "group.initial.rebalance.delay.ms=0",
            # careflow creates its topics with the configured partition count; a typo must not create one.
            "auto.create.topics.enable=false",
            "",
        ])

    def _java(self, lib: Path, main: str, *args: str, heap: str = "256m") -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise BrokerError("Java 17 is needed to run the Kafka broker: install it, or set KAFKA_BOOTSTRAP_SERVERS")
        # C1 only: C2's compiling took a whole core of a 2-core machine for the broker's first
        # minutes (p99 latency 280 ms meanwhile); C1 code serves a single-node broker nearly as
        # well (0.66 core cold vs 0.59 core for C2 warmed up, at 200 answered calls/s).
        return [java, f"-Xmx{heap}", "-XX:+UseG1GC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={LOG4J_CONFIG}", "-cp", f"{lib}/*", main, *args]

    def start(self, timeout: float = 90) -> str:
        started = time.monotonic()
        lib = broker_libraries()
        config = self.workdir / "server.properties"
        if self.security:
            self.security.generate_tls(self.workdir)
        config.write_text(self.properties())
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        formatted = subprocess.run(
            self._java(lib, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config), "--standalone",
                       *(self.security.format_args() if self.security else [])),
            capture_output=True, text=True)
        if formatted.returncode != 0:
            raise BrokerError(f"formatting the broker's storage failed:\n{formatted.stdout}{formatted.stderr}")
        self.log_path = self.workdir / "broker.log"
        with open(self.log_path, "wb") as out:
            self.process = subprocess.Popen(self._java(lib, "kafka.Kafka", str(config), heap=self.heap),
                                            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            preexec_fn=_die_with_parent)
        try:
            self._wait_until_ready(started + timeout)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - started
        log.info("kafka broker ready", extra={"bootstrap": self.bootstrap, "seconds": round(self.start_seconds, 2)})
        return self.bootstrap

    def _wait_until_ready(self, deadline: float) -> None:
        """Ready means the broker answers metadata and its transaction coordinator accepts a
        transactional producer: careflow's runtime needs both."""
        from confluent_kafka import KafkaException, Producer
        from confluent_kafka.admin import AdminClient

        while not self._listening():
            if self.process.poll() is not None:
                raise BrokerError(f"the broker exited with {self.process.returncode}:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                raise BrokerError(f"the broker did not answer in time:\n{self._log_tail()}")
            time.sleep(0.1)
        # Retries while it loads are expected.
        quiet = {**(self.security.client(self.bootstrap) if self.security else {"bootstrap.servers": self.bootstrap}),
                 "logger": log}
        admin = AdminClient(quiet)
        while True:
            try:
                if admin.list_topics(timeout=1).brokers:
                    break
            except KafkaException:
                if time.monotonic() > deadline:
                    raise BrokerError(f"the broker did not answer metadata in time:\n{self._log_tail()}") from None
                time.sleep(0.2)
        producer = Producer({**quiet, "transactional.id": f"careflow-probe-{uuid.uuid4()}"})
        while True:
            try:
                producer.init_transactions(max(1.0, deadline - time.monotonic()))
                return
            except KafkaException as exc:
                if time.monotonic() > deadline or not exc.args[0].retriable():
                    raise BrokerError(f"the broker's transaction coordinator is not ready: {exc}") from exc
                time.sleep(0.2)

    def _listening(self) -> bool:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def _log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # the broker's own shutdown hook: controlled shutdown, clean logs
            try:
                self.process.wait(SHUTDOWN_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> KafkaBroker:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def broker_from_environment() -> Iterator[str]:
    """Yields a bootstrap address: KAFKA_BOOTSTRAP_SERVERS, testcontainers' Kafka, or a local broker."""
    if named := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield named
    elif os.environ.get("CAREFLOW_KAFKA") == "testcontainers":
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("apache/kafka:4.1.1").with_kraft() as container:
            yield container.get_bootstrap_server()
    else:
        with KafkaBroker() as broker:
            yield broker.bootstrap
