"""Part 3: answered call → profile-prompted latency through subscriber-directory and eligibility.

The services run as processes (`careflow service NAME`). A paced producer in this process sends
`subscriber-call-answered` at a fixed rate and notes the monotonic time just before each send;
a listener in a process of its own (so that it does not share the GIL with the producer) reads
`profile-prompted` read_committed and notes the monotonic time of receipt (CLOCK_MONOTONIC is
system-wide on Linux). Latency = receipt − send, matched by call_id.

The floor: what the same telephony and desktop measure through a plain confluent-kafka transactional
relay (`relay`) on the same broker, at the base rate and the target rate; what no exactly-once service
on this broker and machine can go below.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import queue
import statistics
import time
import uuid
from pathlib import Path

from confluent_kafka.admin import AdminClient, NewTopic
from sqlalchemy import func, select

from shared.operators.cli import load_service
from shared.kafka import Publisher, ensure_all_topics
from shared.store import session_factory
from shared.store.models import Subscriber
from tests.bench.common import PARTITIONS, console, fresh_settings, peak_rss_mb, stop, table, wait_for_group
from tests.support import start_service

VN = dt.timezone(dt.timedelta(hours=7))
TARGET_P99_MS = 50.0
TARGET_RATE = 1000  # answered calls a second at which p99 is to hold TARGET_P99_MS
TIGHT_P99_MS = 20.0  # the issue asks for the highest rate measured that holds this too
FLOOR_WARMUP_SECONDS = 10
# The listener is the agent's desktop: it asks the broker to answer fetches at once, so that its
# own fetch wait does not count against the service.
LISTENER_FETCH_WAIT_MS = 5


def listen(bootstrap: str, topic: str, event_type: str, out: mp.Queue, ready: mp.Event, stop_: mp.Event) -> None:
    from confluent_kafka import Consumer

    from shared.contract.registry import contract
    from shared.contract.codec import decode_record

    spec = contract(event_type)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-desktop-{uuid.uuid4().hex}",
                         "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "fetch.wait.max.ms": LISTENER_FETCH_WAIT_MS})
    consumer.subscribe([topic], on_assign=lambda *_: ready.set())
    pending: list[tuple[str, float]] = []
    flushed = time.monotonic()
    while not stop_.is_set():
        message = consumer.poll(0.05)
        if message is not None and message.error() is None:
            received = time.monotonic()
            pending.append((decode_record(spec, message.value())["call_id"], received))
        if pending and time.monotonic() - flushed > 0.1:
            out.put(pending)
            pending, flushed = [], time.monotonic()
    if pending:
        out.put(pending)
    consumer.close()


class Desktop:
    """The listener process and the receipts it reports (of `event_type` records, by call_id)."""

    def __init__(self, bootstrap: str, topic: str, event_type: str = "profile-prompted"):
        context = mp.get_context("spawn")
        self.queue, self.ready, self.stop_ = context.Queue(), context.Event(), context.Event()
        self.process = context.Process(target=listen, args=(bootstrap, topic, event_type, self.queue, self.ready,
                                                            self.stop_), daemon=True)
        self.process.start()
        self.received: dict[str, float] = {}
        if not self.ready.wait(60):
            raise RuntimeError(f"the {topic} listener got no partitions in 60 s")

    def drain(self) -> None:
        while True:
            try:
                self.received.update(self.queue.get_nowait())
            except queue.Empty:
                return

    def close(self) -> None:
        self.stop_.set()
        self.drain()
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()


def relay(bootstrap: str, source: str, sink: str, batch_size: int, producers: int, ready: mp.Event,
          stop_: mp.Event) -> None:
    """The floor under any exactly-once service on this broker: the runtime part's plain loop (its
    fetching and its transaction a batch) with the runtime's turns over `producers` transactional
    producers, each call passed on unchanged: no decoding, no store, no rules."""
    from confluent_kafka import Consumer, Producer

    from tests.bench.throughput import commit_batch, next_batch

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-floor-{uuid.uuid4().hex}",
                         "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    turns = [Producer({"bootstrap.servers": bootstrap, "linger.ms": 1, "compression.type": "lz4",
                       "retry.backoff.ms": 10, "transactional.id": f"bench-floor-{uuid.uuid4().hex}"})
             for _ in range(producers)]
    for producer in turns:
        producer.init_transactions(60)
    consumer.subscribe([source], on_assign=lambda *_: ready.set())
    turn = 0
    while not stop_.is_set():
        messages = next_batch(consumer, batch_size)
        if messages:
            commit_batch(turns[turn], consumer, messages, lambda m: [(sink, m.key(), m.value())])
            turn = (turn + 1) % producers
    consumer.close()


class Floor:
    """The relay in a process of its own, on a topic prefix of its own, with its own desktop."""

    def __init__(self, settings, subscribers: int):
        prefix = settings.topic_prefix + "floor."
        bootstrap = settings.kafka_bootstrap_servers
        source, sink = prefix + "subscriber-call-answered", prefix + "profile-prompted"
        admin = AdminClient({"bootstrap.servers": bootstrap})
        for future in admin.create_topics([NewTopic(t, PARTITIONS, -1) for t in (source, sink)]).values():
            future.result()
        context = mp.get_context("spawn")
        ready, self.stop_ = context.Event(), context.Event()
        self.process = context.Process(target=relay, args=(bootstrap, source, sink, settings.batch_size,
                                                           settings.transactional_producers, ready, self.stop_),
                                       daemon=True)
        self.process.start()
        if not ready.wait(60):
            raise RuntimeError("the floor relay got no partitions in 60 s")
        self.desktop = Desktop(bootstrap, sink, "subscriber-call-answered")
        self.telephony = Telephony(settings.model_copy(update={"topic_prefix": prefix}), subscribers, self.desktop)

    def close(self) -> None:
        self.stop_.set()
        self.process.join(30)
        if self.process.is_alive():
            self.process.kill()
        self.desktop.close()


def load_subscribers(settings, count: int) -> float:
    started = time.perf_counter()
    with Publisher(settings.kafka_bootstrap_servers, "bench-crm", settings.topic_prefix) as crm:
        for i in range(count):
            # Individual prepaid subscribers with gender, occupation and hobbies missing: every call is a target.
            crm.publish("subscriber-upserted", msisdn=msisdn(i), owner_type="individual", subscription_type="prepaid",
                        tier="premium" if i % 5 == 0 else "standard",
                        subscribed_since=dt.date(2012 + i % 12, 1 + i % 12, 1 + i % 28), kndl_member=i % 7 == 0)
    sessions = session_factory(settings.database_url)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        with sessions() as session:
            if session.scalar(select(func.count()).select_from(Subscriber)) >= count:
                return time.perf_counter() - started
        time.sleep(0.25)
    raise RuntimeError("the subscribers were not all stored within 10 minutes")


def msisdn(i: int) -> str:
    return f"+8490{i:07d}"


def percentiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return (float("nan"),) * 3
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000, max(values) * 1000


class Telephony:
    def __init__(self, settings, subscribers: int, desktop: Desktop):
        # linger 0: the call centre sends each answered call at once.
        self.publisher = Publisher(settings.kafka_bootstrap_servers, "bench-telephony", settings.topic_prefix,
                                   **{"linger.ms": 0})
        self.subscribers = subscribers
        self.desktop = desktop
        self.n = 0

    def play(self, rate: int, seconds: float, drain: float = 10) -> dict:
        """Sends `rate` calls a second for `seconds`; returns what the desktop saw of them."""
        sent: dict[str, float] = {}
        total = int(rate * seconds)
        start = time.monotonic()
        late = 0
        for k in range(total):
            due = start + k / rate
            now = time.monotonic()
            if due - now > 0.0005:
                time.sleep(due - now)
            elif now - due > 0.005:
                late += 1
            call_id = uuid.uuid4().hex
            self.n += 1
            # answered between 08:00 and 21:00 Vietnam time: in the window, so every call is a target.
            answered = dt.datetime.now(VN).replace(hour=8 + k % 13, minute=k % 60)
            sent[call_id] = time.monotonic()
            self.publisher.publish("subscriber-call-answered", call_id=call_id, msisdn=msisdn(self.n % self.subscribers),
                                   answered_at=answered, call_reason="general", caller_is_user=True,
                                   customer_mood="normal", agent_id=f"DTV-{k % 40:02d}", channel="call_centre")
            if k % 50 == 0:
                self.desktop.drain()
        send_seconds = time.monotonic() - start
        self.publisher.flush()
        deadline = time.monotonic() + drain
        while time.monotonic() < deadline:
            self.desktop.drain()
            if all(c in self.desktop.received for c in sent):
                break
            time.sleep(0.05)
        latencies = sorted(self.desktop.received[c] - t for c, t in sent.items() if c in self.desktop.received)
        p50, p99, worst = percentiles(latencies)
        return {"rate": rate, "seconds": seconds, "sent": total, "received": len(latencies), "achieved": total / send_seconds,
                "late": late, "p50": p50, "p99": p99, "max": worst, "latencies": latencies}


def bench_eligibility(bootstrap: str, workdir: Path, rate: int, seconds: float, subscribers: int,
                      step_seconds: float, max_rate: int, warmup_seconds: float, batch_size: int | None = None) -> None:
    overrides = {"batch_size": batch_size} if batch_size else {}
    settings = fresh_settings(bootstrap, workdir, "eligibility", **overrides)
    ensure_all_topics(bootstrap, PARTITIONS, settings.topic_prefix)
    prefix = settings.topic_prefix
    services = {name: start_service(name, settings, log_path=workdir / f"{prefix}{name}.log")
                for name in ("subscriber-directory", "eligibility")}
    try:
        for name, process in services.items():
            wait_for_group(bootstrap, prefix + load_service(name).name, 1, process=[process])
        loaded_in = load_subscribers(settings, subscribers)
        console.print(f"  eligibility: {subscribers:,} subscribers stored in {loaded_in:.1f} s")
        desktop = Desktop(bootstrap, prefix + "profile-prompted")
        telephony = Telephony(settings, subscribers, desktop)
        # Warm-up at the measured rate, not counted: a fresh broker spends its first minute or two
        # compiling (JIT) on these 2 cores, which no long-running production broker does.
        warmup = telephony.play(rate, warmup_seconds)
        console.print(f"  eligibility warm-up {rate}/s × {warmup_seconds:.0f} s: {_summary(warmup)} (not counted)")
        results = [telephony.play(rate, seconds)]
        console.print(f"  eligibility {rate}/s × {seconds:.0f} s: {_summary(results[0])}")
        best = rate if _sustained(results[0]) else None
        # Up from the base rate while p99 holds (400, 800, 1200, … with 200/s); down when even it fails.
        step = rate * 2 if best else rate // 2
        while 25 <= step <= max_rate:
            result = telephony.play(step, step_seconds)
            results.append(result)
            console.print(f"  eligibility {step}/s × {step_seconds:.0f} s: {_summary(result)}, "
                          f"received {result['received']}/{result['sent']}, sent at {result['achieved']:.0f}/s")
            if best:
                if not _sustained(result):
                    break
                best = step
                step += rate * 2
            else:
                if _sustained(result):
                    best = step
                    break
                step //= 2
        rss = {name: peak_rss_mb(p.pid) for name, p in services.items()}
        turns = compare_producer_turns(telephony, services, settings, workdir, rate, seconds / 2)
        at_target = telephony.play(TARGET_RATE, step_seconds)
        console.print(f"  eligibility {TARGET_RATE}/s × {step_seconds:.0f} s: {_summary(at_target)}")
        desktop.close()
        stop([services.pop("eligibility")])  # the floor runs alone
        floor = measure_floor(settings, subscribers, [(rate, seconds / 2), (TARGET_RATE, step_seconds)])
    finally:
        stop(list(services.values()))
    rows = [(f"warm-up, not counted: {rate}/s for {warmup_seconds:.0f} s: p50 / p99 / max",
             f"{warmup['p50']:.1f} / {warmup['p99']:.1f} / {warmup['max']:.1f} ms")]
    for r in results:
        label = f"{r['rate']}/s for {r['seconds']:.0f} s"
        rows.append((f"{label}: p50 / p99 / max",
                     f"{r['p50']:.1f} / {r['p99']:.1f} / {r['max']:.1f} ms"))
        rows.append((f"{label}: received, send rate achieved",
                     f"{r['received']:,}/{r['sent']:,}, {r['achieved']:,.0f}/s"))
    rows.append((f"highest rate with p99 < {TARGET_P99_MS:.0f} ms (all received, rate held)",
                 f"{best}/s" if best else "none"))
    tight = max((r["rate"] for r in results if _sustained(r, TIGHT_P99_MS)), default=None)
    rows.append((f"highest rate measured with p99 < {TIGHT_P99_MS:.0f} ms", f"{tight}/s" if tight else "none"))
    for producers, (p50, p99, worst) in sorted(turns.items()):
        rows.append((f"{rate}/s, {producers} transactional producer(s) in turn, {seconds:.0f} s in two halves: "
                     f"p50 / p99 / max", f"{p50:.1f} / {p99:.1f} / {worst:.1f} ms"))
    rows.append(("p99 with one producer ÷ p99 with two (the runtime before ÷ shipped)", f"{turns[1][1] / turns[2][1]:.2f}×"))
    rows.append((f"careflow at the target rate, {TARGET_RATE}/s for {step_seconds:.0f} s: p50 / p99 / max",
                 f"{at_target['p50']:.1f} / {at_target['p99']:.1f} / {at_target['max']:.1f} ms"))
    for r, careflow_p99 in zip(floor, (turns[2][1], at_target["p99"])):
        rows.append((f"floor (plain transactional relay), {r['rate']}/s for {r['seconds']:.0f} s: p50 / p99 / max",
                     f"{r['p50']:.1f} / {r['p99']:.1f} / {r['max']:.1f} ms"))
        rows.append((f"careflow p99 ÷ floor p99 at {r['rate']}/s", f"{careflow_p99 / r['p99']:.2f}×"))
    rows += [(f"peak memory: {name}", f"{mb:,.0f} MB") for name, mb in rss.items()]
    table("3. eligibility: subscriber-call-answered → profile-prompted (read_committed)", rows,
          note=f"services as processes, batch_size={settings.batch_size}, runtime defaults otherwise "
               f"(poll 0.5 s when idle, producer linger 1 ms, one transaction per batch, "
               f"{settings.transactional_producers} transactional producers in turn); "
               f"telephony producer linger 0; listener fetch.wait.max.ms={LISTENER_FETCH_WAIT_MS}. The floor: "
               f"confluent-kafka's transactional loop passing each call on unchanged, with the same fetching, "
               f"batches and producers in turn, measured last, alone, on the same broker")


def measure_floor(settings, subscribers: int, plays: list[tuple[int, float]]) -> list[dict]:
    """What the same telephony and desktop measure through the floor relay (`relay`), at each rate."""
    floor = Floor(settings, subscribers)
    try:
        # Its first seconds are a fresh group's and fresh producers', which the services had long before.
        floor.telephony.play(plays[0][0], FLOOR_WARMUP_SECONDS)
        results = []
        for rate, seconds in plays:
            results.append(floor.telephony.play(rate, seconds))
            console.print(f"  floor {rate}/s × {seconds:.0f} s: {_summary(results[-1])}")
        return results
    finally:
        floor.close()


def compare_producer_turns(telephony: Telephony, services: dict, settings, workdir: Path, rate: int,
                           seconds: float) -> dict[int, tuple[float, float, float]]:
    """The baseline of this run: eligibility with one transactional producer (the runtime before it
    took turns) against two, restarted for each, interleaved 1, 2, 1, 2 so that neither gets the
    warmer broker. Returns p50, p99, max per producer count, over both of its runs."""
    pooled: dict[int, list[float]] = {1: [], 2: []}
    name = load_service("eligibility").name
    for producers in (1, 2, 1, 2):
        stop([services.pop("eligibility")])
        services["eligibility"] = start_service(
            "eligibility", settings, log_path=workdir / f"{settings.topic_prefix}eligibility.log",
            extra_env={"CAREFLOW_TRANSACTIONAL_PRODUCERS": str(producers)})
        wait_for_group(settings.kafka_bootstrap_servers, settings.topic_prefix + name, 1, process=[services["eligibility"]])
        result = telephony.play(rate, seconds)
        console.print(f"  eligibility {rate}/s × {seconds:.0f} s, {producers} transactional producer(s): {_summary(result)}")
        pooled[producers] += result["latencies"]
    return {producers: percentiles(latencies) for producers, latencies in pooled.items()}


def _summary(result: dict) -> str:
    return f"p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms, max {result['max']:.1f} ms"


def _sustained(result: dict, p99_ms: float = TARGET_P99_MS) -> bool:
    return (result["received"] == result["sent"] and result["p99"] < p99_ms
            and result["achieved"] >= 0.97 * result["rate"])
