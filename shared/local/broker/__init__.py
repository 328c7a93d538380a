"""The local Apache Kafka broker: Kafka 4.x in KRaft mode, one node or a cluster, from Maven Central.

Maven resolves `org.apache.kafka:kafka_2.13` and its runtime dependencies from the pom beside this
file into a cache folder once; every later start reuses it. The broker then runs as plain `java`
processes on free ports with its data in a temporary folder (gone when the context exits) or in a
folder it keeps (`careflow up`: var/kafka).

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
import re
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
# How a node's log (log4j2.properties keeps this line) says it became the quorum's leader: the active controller.
LEADER_TRANSITION = re.compile(r"Completed transition to Leader\(.*?\bepoch=(\d+)")


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


def cluster_id() -> str:
    """A new KRaft cluster id: 16 random bytes, URL-safe base64. One that begins with '-' would be read
    as an option by the storage tool's argument parser (one id in 64): those are drawn again."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


class Node:
    """One KRaft node of the launcher's cluster: broker and controller combined."""

    def __init__(self, node_id: int, folder: Path):
        self.node_id, self.folder = node_id, folder
        self.port, self.controller_port = free_port(), free_port()
        self.process: subprocess.Popen | None = None

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log_path(self) -> Path:
        return self.folder / "broker.log"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class KafkaBroker:
    """A KRaft cluster on 127.0.0.1: one node by default, or `nodes` combined broker-controllers with
    every topic (internal ones too) replicated min(3, nodes) times and min.insync.replicas 2.

    With a `workdir`, the data stays there: the first start formats it, later starts (in another process
    too) go on with it. Without one, a temporary folder is removed on stop. `extra_properties` are
    appended to every node's configuration and `format_arguments` to the storage tool's (listeners,
    SCRAM users...)."""

    def __init__(self, workdir: Path | None = None, heap: str = "768m", nodes: int = 1,
                 extra_properties: list[str] | None = None, format_arguments: list[str] | None = None,
                 security: BrokerSecurity | None = None):
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="careflow-kafka-"))
        # None: PLAINTEXT listeners; otherwise SASL_SSL with SCRAM users and ACLs (security.py).
        self.security = security
        self._owns_workdir = workdir is None
        self.heap = heap
        self.nodes = [Node(n, self.workdir / (f"node-{n}" if nodes > 1 else "")) for n in range(1, nodes + 1)]
        self.extra_properties = list(extra_properties or [])
        self.format_arguments = list(format_arguments or [])
        self.start_seconds: float | None = None
        self._lib: Path | None = None

    # The first node's, for the one-node broker's callers.
    @property
    def port(self) -> int:
        return self.nodes[0].port

    @property
    def process(self) -> subprocess.Popen | None:
        return self.nodes[0].process

    @property
    def log_path(self) -> Path:
        return self.nodes[0].log_path

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    def node(self, node_id: int) -> Node:
        return self.nodes[node_id - 1]

    def properties(self, node: Node | None = None) -> str:
        node = node or self.nodes[0]
        replicas = min(3, len(self.nodes))
        min_isr = min(2, replicas)
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)
        return "\n".join([
            "process.roles=broker,controller",
            f"node.id={node.node_id}",
            *self._listeners(node),
            "controller.listener.names=CONTROLLER",
            # Static voters: the ports may change from one start to the next, the quorum follows.
            f"controller.quorum.voters={voters}",
            f"log.dirs={node.data}",
            # Topics careflow creates ask for the cluster's default replication factor (-1).
            f"default.replication.factor={replicas}",
            f"min.insync.replicas={min_isr}",
            f"offsets.topic.replication.factor={replicas}",
            f"transaction.state.log.replication.factor={replicas}",
            f"transaction.state.log.min.isr={min_isr}",
            f"share.coordinator.state.topic.replication.factor={replicas}",
            f"share.coordinator.state.topic.min.isr={min_isr}",
            "offsets.topic.num.partitions=6",
            "transaction.state.log.num.partitions=6",
            "group.initial.rebalance.delay.ms=0",
            # careflow creates its topics with the configured partition count; a typo must not create one.
            "auto.create.topics.enable=false",
            *self.extra_properties,
            "",
        ])

    def _listeners(self, node: Node) -> list[str]:
        if self.security:
            return self.security.properties(node.port, node.controller_port)
        return [f"listeners=PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{node.port}",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"]

    def client(self) -> dict:
        """A client configuration for this cluster (its admin user when it is secured)."""
        return self.security.client(self.bootstrap) if self.security else {"bootstrap.servers": self.bootstrap}

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
        self._lib = broker_libraries()
        if self.security:
            self.security.generate_tls(self.workdir)
        self._format()
        try:
            for node in self.nodes:
                self._launch(node)
            self._wait_until_ready(started + timeout * len(self.nodes))
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - started
        log.info("kafka broker ready", extra={"bootstrap": self.bootstrap, "seconds": round(self.start_seconds, 2)})
        return self.bootstrap

    def _format(self) -> None:
        """Formats each node's storage the first time; a node formatted before keeps its data."""
        id_file = self.workdir / "cluster-id"
        if not id_file.exists():
            _ensure(self.workdir)
            id_file.write_text(cluster_id())
        for node in self.nodes:
            config = _ensure(node.folder) / "server.properties"
            config.write_text(self.properties(node))
            if (node.data / "meta.properties").exists():
                continue
            formatted = subprocess.run(
                self._java(self._lib, "kafka.tools.StorageTool", "format", "-t", id_file.read_text().strip(),
                           "-c", str(config), *self.format_arguments,
                           *(self.security.format_args() if self.security else [])), capture_output=True, text=True)
            if formatted.returncode != 0:
                raise BrokerError(f"formatting the broker's storage failed:\n{formatted.stdout}{formatted.stderr}")

    def _launch(self, node: Node) -> None:
        with open(node.log_path, "ab") as out:
            node.process = subprocess.Popen(
                self._java(self._lib, "kafka.Kafka", str(node.folder / "server.properties"), heap=self.heap),
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)

    # --- faults, for the tests ------------------------------------------------------------

    def kill(self, node_id: int = 1) -> None:
        node = self.node(node_id)
        node.process.kill()
        node.process.wait()

    def pause(self, node_id: int = 1) -> None:
        self.node(node_id).process.send_signal(signal.SIGSTOP)

    def resume(self, node_id: int = 1) -> None:
        self.node(node_id).process.send_signal(signal.SIGCONT)

    def restart(self, node_id: int = 1, timeout: float = 90) -> None:
        """Starts a stopped node again on its data and its ports."""
        node = self.node(node_id)
        if node.alive():
            raise BrokerError(f"node {node_id} is running")
        self._launch(node)
        self._wait_until_ready(time.monotonic() + timeout)

    def active_controller(self) -> int | None:
        """The node that last became the KRaft quorum's leader (the log names each transition)."""
        latest: tuple[int, int] | None = None
        for node in self.nodes:
            if not node.alive():
                continue
            for match in LEADER_TRANSITION.finditer(node.log_path.read_text(errors="replace")):
                epoch = int(match.group(1))
                if latest is None or epoch >= latest[0]:
                    latest = (epoch, node.node_id)
        return latest[1] if latest else None

    # --- readiness ------------------------------------------------------------------------

    def _wait_until_ready(self, deadline: float) -> None:
        """Ready means every live node answers metadata and a transaction coordinator accepts a
        transactional producer: careflow's runtime needs both."""
        from confluent_kafka import KafkaException, Producer
        from confluent_kafka.admin import AdminClient

        live = [node for node in self.nodes if node.process is not None]
        while not all(self._listening(node) for node in live):
            for node in live:
                if node.process.poll() is not None:
                    raise BrokerError(f"broker node {node.node_id} exited with {node.process.returncode}:\n"
                                      f"{self._log_tail(node)}")
            if time.monotonic() > deadline:
                raise BrokerError(f"the broker did not answer in time:\n{self._log_tail(live[0])}")
            time.sleep(0.1)
        quiet = {**self.client(), "logger": log}  # retries while it loads are expected
        admin = AdminClient(quiet)
        wanted = {node.node_id for node in self.nodes if node.alive()}
        while True:
            try:
                if wanted <= set(admin.list_topics(timeout=1).brokers):
                    break
            except KafkaException:
                pass
            if time.monotonic() > deadline:
                raise BrokerError(f"the broker did not answer metadata in time:\n{self._log_tail(live[0])}")
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

    @staticmethod
    def _listening(node: Node) -> bool:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            return probe.connect_ex(("127.0.0.1", node.port)) == 0

    def _log_tail(self, node: Node | None = None, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join((node or self.nodes[0]).log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        for node in self.nodes:
            if node.alive():
                node.process.send_signal(signal.SIGCONT)  # a paused node cannot shut down
                node.process.terminate()  # the broker's own shutdown hook: controlled shutdown, clean logs
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                try:
                    node.process.wait(SHUTDOWN_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    node.process.kill()
                    node.process.wait()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> KafkaBroker:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def broker_from_environment(workdir: Path | None = None) -> Iterator[str]:
    """Yields a bootstrap address: KAFKA_BOOTSTRAP_SERVERS, testcontainers' Kafka, or a local broker
    (its data kept in `workdir` if given, else in a temporary folder)."""
    if named := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield named
    elif os.environ.get("CAREFLOW_KAFKA") == "testcontainers":
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("apache/kafka:4.1.1").with_kraft() as container:
            yield container.get_bootstrap_server()
    else:
        with KafkaBroker(workdir) as broker:
            yield broker.bootstrap
