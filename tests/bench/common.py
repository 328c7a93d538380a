"""What the three parts share: settings on a fresh topic prefix and store, tables, offsets, memory."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from rich.console import Console
from rich.table import Table

from shared.config import Settings
from shared.store import migrate

console = Console()
PARTITIONS = 6


def fresh_settings(bootstrap: str, workdir: Path, part: str, **overrides) -> Settings:
    """A topic prefix and a migrated SQLite store of its own for one part (or one run of it)."""
    tag = f"{part}-{uuid.uuid4().hex[:6]}"
    url = f"sqlite:///{workdir / (tag + '.db')}"
    migrate(url)
    return Settings(KAFKA_BOOTSTRAP_SERVERS=bootstrap, DATABASE_URL=url, topic_prefix=f"bench.{tag}.",
                    partitions=PARTITIONS, **overrides)


def table(title: str, rows: list[tuple[str, str]], note: str | None = None) -> None:
    out = Table(title=title, caption=note, caption_justify="left")
    out.add_column("measure")
    out.add_column("value", justify="right")
    for name, value in rows:
        out.add_row(name, value)
    console.print(out)


class Offsets:
    """Committed offsets of any group (through the admin API) and high watermarks, one client each."""

    def __init__(self, bootstrap: str):
        self.admin = AdminClient({"bootstrap.servers": bootstrap})
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-offsets-{uuid.uuid4().hex}",
                                  "enable.auto.commit": False})

    @staticmethod
    def _partitions(topic: str) -> list[TopicPartition]:
        return [TopicPartition(topic, p) for p in range(PARTITIONS)]

    def committed(self, group: str, topic: str) -> list[int]:
        request = [ConsumerGroupTopicPartitions(group, self._partitions(topic))]
        result = self.admin.list_consumer_group_offsets(request)[group].result()
        return [max(tp.offset, 0) for tp in sorted(result.topic_partitions, key=lambda tp: tp.partition)]

    def high(self, topic: str) -> list[int]:
        return [self.consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in self._partitions(topic)]

    def rewind(self, group: str, topic: str) -> None:
        """The (empty) group's committed offsets on `topic` back to its start."""
        request = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p, 0) for p in range(PARTITIONS)])]
        self.admin.alter_consumer_group_offsets(request)[group].result()

    def close(self) -> None:
        self.consumer.close()


def wait_for_group(bootstrap: str, group: str, members: int, timeout: float = 90, process=None) -> None:
    """Until the consumer group is stable with `members` members (the services have joined)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in process or ():
            if proc.poll() is not None:
                raise RuntimeError(f"a service process exited with {proc.returncode} before joining {group}")
        try:
            description = admin.describe_consumer_groups([group])[group].result()
            if len(description.members) >= members and str(description.state).endswith("STABLE") and all(
                    m.assignment.topic_partitions for m in description.members):
                return
        except KafkaException:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"consumer group {group} did not become stable with {members} member(s) in {timeout:.0f} s")


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the process's peak resident set so far (psutil is not installed)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


_TICKS = os.sysconf("SC_CLK_TCK")


def _name_and_cpu(stat: Path) -> tuple[str, float]:
    """A process's or thread's name and the user + system CPU it has used so far, from its /proc
    stat file (fields 2, 14 and 15)."""
    name, rest = stat.read_text().split(" (", 1)[1].rsplit(")", 1)
    fields = rest.split()
    return name, (int(fields[11]) + int(fields[12])) / _TICKS


def cpu_seconds(pid: int) -> float:
    """User + system CPU a live process has used so far."""
    return _name_and_cpu(Path(f"/proc/{pid}/stat"))[1]


def cpu_seconds_by_thread(pid: int) -> dict[str, float]:
    """A live process's CPU so far by thread: its main thread (where a service's handlers run),
    librdkafka's threads (named rdk:…) and the others (/proc/PID/task/TID/stat)."""
    split = {"main": 0.0, "librdkafka": 0.0, "other": 0.0}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name, seconds = _name_and_cpu(task / "stat")
        except (FileNotFoundError, ProcessLookupError):
            continue  # ended since the listing
        split["main" if task.name == str(pid) else "librdkafka" if name.startswith("rdk:") else "other"] += seconds
    return split


def machine_busy_seconds() -> float:
    """CPU time all cores of this machine have spent busy (not idle, not waiting on I/O) since boot."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / _TICKS


def stop(processes) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(30)
        except Exception:
            process.kill()
            process.wait()
