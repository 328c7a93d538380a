"""Part 1: transactional consume → produce throughput, careflow's runtime against a plain loop.

Both sides run in this process on the same broker, each on topics of its own pre-filled with the
same N `lead-imported` events (6 partitions), with the same fetching (wait for the first message,
then take what is already fetched, up to the batch size) and one transaction per batch. The clock
starts when the first message is handed over (the group join is not counted) and stops when the
transaction committing the N-th offset has committed; then the committed view is checked: the
output topic holds N messages read_committed and the group's lag is 0.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from confluent_kafka import Consumer, Message, Producer, TopicPartition

from shared.kafka import Publisher, ensure_all_topics
from shared.runner.loop import ServiceRunner, freeze_loaded
from shared.config import Settings
from tests.bench.common import PARTITIONS, console, fresh_settings, Offsets, table
from tests.bench.noop_service import SERVICE as NOOP, lead_fields
from tests.support import TopicReader

SOURCE, SINK = "lead-imported", "lead-escalated"
WARMUP_EVENTS = 30_000


def produce_leads(settings: Settings, count: int) -> None:
    with Publisher(settings.kafka_bootstrap_servers, "bench", settings.topic_prefix) as publisher:
        for i in range(count):
            publisher.publish(SOURCE, **lead_fields(i))


class _FirstMessageClock:
    """Wraps the runner's consumer to note when the first message is handed over."""

    def __init__(self, consumer: Consumer):
        self._consumer = consumer
        self.first: float | None = None

    def poll(self, timeout):
        message = self._consumer.poll(timeout)
        if message is not None and self.first is None:
            self.first = time.perf_counter()
        return message

    def __getattr__(self, name):
        return getattr(self._consumer, name)


def plain_loop(settings: Settings, count: int, transform=None, group: str = "plain") -> float:
    """The baseline, in the spirit of confluent-kafka-python's eos-transactions example: consume a
    batch, produce each value unchanged, send the offsets to the transaction, commit. No decoding.
    `transform(message)`, when given, returns the (topic, key, value) outputs of a message instead."""
    prefix = settings.topic_prefix
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": prefix + group,
                         "enable.auto.commit": False, "isolation.level": "read_committed",
                         "auto.offset.reset": "earliest", "session.timeout.ms": settings.session_timeout_ms})
    # The runtime's producer settings, so that only the Python around the client differs.
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers, "linger.ms": 5,
                         "compression.type": "lz4", "transaction.timeout.ms": 30000,
                         "transactional.id": prefix + group})
    producer.init_transactions(60)
    consumer.subscribe([prefix + SOURCE])
    sink = prefix + SINK
    done, started = 0, None
    while done < count:
        messages = next_batch(consumer, settings.batch_size)
        if not messages:
            continue
        started = started or time.perf_counter()
        commit_batch(producer, consumer, messages,
                     (lambda m: [(sink, m.key(), m.value())]) if transform is None else transform)
        done += len(messages)
    elapsed = time.perf_counter() - started
    consumer.close()
    return count / elapsed


def next_batch(consumer: Consumer, batch_size: int) -> list[Message]:
    """As the runtime fetches: wait for the first message, then take what is already fetched."""
    first = consumer.poll(0.5)
    if first is None:
        return []
    return [m for m in (first, *consumer.consume(batch_size - 1, timeout=0)) if m.error() is None]


def commit_batch(producer: Producer, consumer: Consumer, messages: list[Message],
                 outputs_of: Callable[[Message], list[tuple[str, bytes, bytes]]]) -> None:
    """One transaction of the plain loop: each message's (topic, key, value) outputs produced, the
    batch's offsets sent to the transaction, the transaction committed."""
    producer.begin_transaction()
    positions: dict[tuple[str, int], int] = {}
    for message in messages:
        for topic, key, value in outputs_of(message):
            while True:
                try:
                    producer.produce(topic, value=value, key=key)
                    break
                except BufferError:
                    producer.poll(0.05)
        positions[(message.topic(), message.partition())] = message.offset() + 1
    producer.send_offsets_to_transaction([TopicPartition(t, p, o) for (t, p), o in positions.items()],
                                         consumer.consumer_group_metadata())
    producer.commit_transaction()


def careflow_runtime(settings: Settings, count: int, service=NOOP) -> float:
    """careflow's ServiceRunner (by default with the no-op service: decode, validate, handler, emit
    (encode), produce)."""
    runner = ServiceRunner(service, settings)
    clock = _FirstMessageClock(runner.consumer)
    runner.consumer = clock
    runner.start()
    young = gc.get_threshold()
    freeze_loaded(settings.batch_size)  # as ServiceRunner.run does; its collector's threshold undone below
    done = 0
    while done < count:
        done += runner.poll_once()
    elapsed = time.perf_counter() - clock.first
    runner.close()  # its producers too: left to the garbage collector, they log the broker's shutdown
    gc.set_threshold(*young)
    return count / elapsed


def _check(settings: Settings, group: str, count: int) -> str:
    prefix = settings.topic_prefix
    reader = TopicReader(settings.kafka_bootstrap_servers, prefix + SINK)
    got = len(reader.read_until(count, timeout=60, settle=0.5))
    reader.close()
    client = Offsets(settings.kafka_bootstrap_servers)
    lag = sum(h - c for h, c in zip(client.high(prefix + SOURCE), client.committed(group, prefix + SOURCE)))
    client.close()
    return "ok" if got == count and lag == 0 else f"MISMATCH: {got} committed outputs, lag {lag}"


def bench_runtime(bootstrap: str, workdir, events: int, repeats: int = 2) -> float:
    """Returns the baseline's events/s (the best run), for the other parts to compare with."""
    contenders = {"baseline": (plain_loop, "plain"), "careflow": (careflow_runtime, NOOP.name)}
    runs: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}  # µs of this process's CPU an event
    checks: list[str] = []
    # Warm-up, not counted: the first transactional producer on a fresh broker pays for loading the
    # transaction and offsets coordinators (a first baseline round ran at a quarter of the second), and
    # the broker compiles its hot paths for a while: after 2,000 events each, the plain loop still ran
    # 1.3-2.3× faster in its second round than in its first.
    warm = fresh_settings(bootstrap, workdir, "warmup")
    ensure_all_topics(bootstrap, PARTITIONS, warm.topic_prefix)
    produce_leads(warm, WARMUP_EVENTS)
    plain_loop(warm, WARMUP_EVENTS)
    careflow_runtime(warm, WARMUP_EVENTS)
    # What is loaded frozen, as a service process after its start (ServiceRunner.run), both sides alike.
    # Unfrozen, each of careflow's full collections walked the whole bench process (its other parts' modules
    # and data too).
    gc.collect()
    gc.freeze()
    for round_ in range(repeats):  # alternating, so that neither side has the warmer broker
        for name, (measure, group) in contenders.items():
            settings = fresh_settings(bootstrap, workdir, "runtime")
            ensure_all_topics(bootstrap, PARTITIONS, settings.topic_prefix)
            produce_leads(settings, events)
            started = time.process_time()
            rate = measure(settings, events)
            cpu[name].append((time.process_time() - started) / events * 1e6)
            runs[name].append(rate)
            checks.append(_check(settings, settings.topic_prefix + group, events))
            console.print(f"  runtime round {round_ + 1}: {name:22s} {rate:>10,.0f} events/s, "
                          f"{cpu[name][-1]:,.0f} µs CPU an event  ({checks[-1]})")
    gc.unfreeze()
    baseline, runtime = max(runs["baseline"]), max(runs["careflow"])
    fmt = lambda values: ", ".join(f"{v:,.0f}" for v in values)  # noqa: E731
    table(f"1. runtime: transactional consume → produce, {events:,} events, {PARTITIONS} partitions, "
          f"batch ≤ 500, best of {repeats}", [
              ("baseline: plain confluent-kafka EOS loop, bytes through", f"{baseline:,.0f} events/s"),
              ("careflow ServiceRunner, no-op handler (decode+validate+emit)", f"{runtime:,.0f} events/s"),
              ("ratio careflow / baseline", f"{runtime / baseline:.2f}"),
              *((f"all runs: {name}", fmt(values)) for name, values in runs.items()),
              *((f"CPU of this process an event (client threads included): {name}",
                 ", ".join(f"{v:,.0f} µs" for v in values)) for name, values in cpu.items()),
              ("committed view checked (N outputs read_committed, lag 0)",
               "ok" if all(c == "ok" for c in checks) else "; ".join(checks)),
          ], note="clock: first message handed over → the N-th offset's transaction committed")
    return baseline
