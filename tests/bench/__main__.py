"""`make bench`: careflow's figures against a baseline measured on the same broker in the same run.

1. runtime     — transactional consume → produce with a no-op handler: careflow's runtime against a
                 plain confluent-kafka loop (eos_transactions style).
2. leads       — a synthetic list from file to `lead-normalized` and the segmenter's requests.
3. eligibility — answered calls at a fixed rate to `profile-prompted`: latency percentiles, then
                 the highest rate whose p99 stays under 50 ms.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import resource
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from shared import codec
from shared.broker import broker_from_environment
from shared.kafka import Publisher, ensure_all_topics
from shared.runtime import ServiceRunner
from shared.settings import Settings
from shared.store import migrate, session_factory
from shared.store.models import ProcessedEvent, Subscriber
from tests.bench.noop_service import SERVICE as NOOP
from tests.support import start_service

console = Console()
PARTITIONS = 6
VN = dt.timezone(dt.timedelta(hours=7))


def _settings(bootstrap: str, workdir: Path, **overrides) -> Settings:
    url = f"sqlite:///{workdir / 'bench.db'}"
    migrate(url)
    return Settings(KAFKA_BOOTSTRAP_SERVERS=bootstrap, DATABASE_URL=url, topic_prefix=f"b{uuid.uuid4().hex[:6]}.",
                    partitions=PARTITIONS, **overrides)


def _table(title: str, rows: list[tuple]) -> None:
    table = Table(title=title)
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)


def _committed(bootstrap: str, group: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        offsets = consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
        return sum(max(tp.offset, 0) for tp in offsets)
    finally:
        consumer.close()


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- 1. runtime ---------------------------------------------------------------------------------

def _produce_leads(settings: Settings, count: int) -> None:
    with Publisher(settings.kafka_bootstrap_servers, "bench", settings.topic_prefix) as publisher:
        for i in range(count):
            publisher.publish("lead-imported", lead_id=f"mst:{i:010d}", source="bench", row_number=i + 1,
                              tax_code=None, company_name=f"Công ty {i}", address="Hà Nội", phones=None, emails=None,
                              bhxh_unit_code=None)
        publisher.flush()


def plain_loop(settings: Settings, count: int, batch: int = 500) -> float:
    """The baseline: consume, produce the same bytes, commit offsets in the transaction."""
    source, sink = settings.topic_prefix + "lead-imported", settings.topic_prefix + "lead-escalated"
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": settings.topic_prefix + "plain",
                         "enable.auto.commit": False, "isolation.level": "read_committed", "auto.offset.reset": "earliest"})
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers, "linger.ms": 5,
                         "compression.type": "lz4", "transactional.id": settings.topic_prefix + "plain"})
    producer.init_transactions(30)
    consumer.subscribe([source])
    done, started = 0, None
    while done < count:
        first = consumer.poll(0.5)  # the same fetching as the runtime: the first message, then what is fetched
        if first is None:
            continue
        messages = [m for m in [first, *consumer.consume(batch - 1, timeout=0)] if m.error() is None]
        started = started or time.perf_counter()
        producer.begin_transaction()
        for message in messages:
            producer.produce(sink, value=message.value(), key=message.key())
        positions = {}
        for message in messages:
            positions[(message.topic(), message.partition())] = message.offset() + 1
        producer.send_offsets_to_transaction([TopicPartition(t, p, o) for (t, p), o in positions.items()],
                                             consumer.consumer_group_metadata())
        producer.commit_transaction()
        done += len(messages)
    elapsed = time.perf_counter() - started
    consumer.close()
    return count / elapsed


def careflow_runtime(settings: Settings, count: int) -> float:
    runner = ServiceRunner(NOOP, settings)
    ensure_all_topics(settings.kafka_bootstrap_servers, PARTITIONS, settings.topic_prefix)
    runner.producer.init_transactions(30)
    runner.consumer.subscribe(runner.topics)
    done, started = 0, None
    while done < count:
        handled = runner.poll_once()
        if handled and started is None:
            started = time.perf_counter()
        done += handled
    elapsed = time.perf_counter() - started
    runner.consumer.close()
    return count / elapsed


def bench_runtime(bootstrap: str, workdir: Path, events: int) -> float:
    # Each side runs twice, alternating, on topics of its own; the better run counts (the first
    # transactional producer on a fresh broker pays for warming it up).
    baselines, runtimes = [], []
    for _ in range(2):
        for runs, measure in ((baselines, plain_loop), (runtimes, careflow_runtime)):
            settings = _settings(bootstrap, workdir)
            ensure_all_topics(bootstrap, PARTITIONS, settings.topic_prefix)
            _produce_leads(settings, events)
            runs.append(measure(settings, events))
    baseline, runtime = max(baselines), max(runtimes)
    _table(f"runtime: transactional consume → produce, {events:,} events, {PARTITIONS} partitions", [
        ("plain confluent-kafka loop (baseline)", f"{baseline:,.0f} events/s"),
        ("careflow runtime, no-op handler (decode, validate, encode, DLQ-ready)", f"{runtime:,.0f} events/s"),
        ("ratio careflow / baseline", f"{runtime / baseline:.2f}"),
    ])
    return baseline


# --- 2. lead pipeline ---------------------------------------------------------------------------

PROVINCES = ["Hà Nội", "TP.HCM", "Đà Nẵng", "Hải Phòng", "Cần Thơ", "Thái Bình", "Quang Nam", "Bình Dương",
             "Nghệ An", "Gia Lai", "Đắk Lắk", "Kiên Giang"]


def _tax_code(n: int) -> str:
    """The first valid tax code from n on (skipping the ones without a check digit)."""
    weights = (31, 29, 23, 19, 17, 13, 7, 5, 3)
    while True:
        digits = f"{n:09d}"[-9:]
        check = 10 - sum(w * int(d) for w, d in zip(weights, digits)) % 11
        if check < 10:
            return digits + str(check)
        n += 1


def write_list(path: Path, rows: int) -> None:
    """A synthetic BHXH list: valid tax codes, addresses ending in old and new province names, phones
    in every writing (old 11-digit mobiles, old area codes), e-mails."""
    rng = random.Random(7)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tax_code", "company_name", "address", "phones", "emails"])
        for i in range(rows):
            tax_code = _tax_code(100_000_000 + i * 3)
            mobile = rng.choice([f"09{rng.randrange(10**8):08d}", f"0168 {rng.randrange(10**7):07d}",
                                 f"+84 9{rng.randrange(10**8):08d}"])
            phones = rng.choice([mobile, f"{mobile}; (04) 3{rng.randrange(10**7):07d}", "", "1900 54 54 81"])
            email = rng.choice(["", f"ketoan{i}@congty{i % 997}.vn", f"info{i}[at]dn{i % 101}.com.vn"])
            writer.writerow([tax_code, f"Công ty TNHH Thương mại {i}", f"Số {i % 300}, {rng.choice(PROVINCES)}",
                             phones, email])


def bench_leads(bootstrap: str, workdir: Path, rows: int, normalizers: int, baseline: float | None) -> None:
    from shared.imports import import_leads

    settings = _settings(bootstrap, workdir)
    ensure_all_topics(bootstrap, PARTITIONS, settings.topic_prefix)
    path = workdir / "list.csv"
    started = time.perf_counter()
    write_list(path, rows)
    console.print(f"wrote {rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s")
    processes = [start_service("normalizer", settings, instance_id=str(i), log_path=workdir / f"normalizer-{i}.log")
                 for i in range(normalizers)]
    segmenter = start_service("segmenter", settings, log_path=workdir / "segmenter.log")
    time.sleep(5)  # the consumers join their groups
    prefix = settings.topic_prefix
    started = time.perf_counter()
    summary = import_leads(path, Publisher(bootstrap, "bench-import", prefix), progress=False)
    imported_in = time.perf_counter() - started
    importer_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    while _committed(bootstrap, prefix + "normalizer", prefix + "lead-imported") < summary.published:
        time.sleep(0.5)
    normalized_in = time.perf_counter() - started
    sessions = session_factory(settings.database_url)
    with sessions() as session:
        segmented = session.scalar(select(func.count()).select_from(ProcessedEvent)
                                   .where(ProcessedEvent.consumer == prefix + "segmenter"))
    segmented_in = time.perf_counter() - started
    rss = {f"normalizer-{i}": _peak_rss_mb(p.pid) for i, p in enumerate(processes)}
    rss["segmenter"] = _peak_rss_mb(segmenter.pid)
    for process in (*processes, segmenter):
        process.terminate()
        process.wait(30)
    rate = summary.published / normalized_in
    rows_out = [
        ("rows imported (published / rejected)", f"{summary.published:,} / {summary.rejected:,}"),
        ("import: file → lead-imported", f"{summary.published / imported_in:,.0f} rows/s"),
        (f"end to end: file → lead-normalized ({normalizers} normalizer instance(s))", f"{rate:,.0f} leads/s"),
        ("segmenter (SQLite store) while the normalizers ran", f"{segmented / segmented_in:,.0f} leads/s"),
        ("target file → lead-normalized", "10,000 leads/s"),
        ("peak memory: importer", f"{importer_rss:,.0f} MB"),
        *((f"peak memory: {name}", f"{mb:,.0f} MB") for name, mb in rss.items()),
    ]
    if baseline:
        rows_out.append(("end to end / raw consume-produce baseline", f"{rate / baseline:.2f}"))
    _table(f"lead pipeline: {rows:,} synthetic rows", rows_out)


# --- 3. eligibility latency --------------------------------------------------------------------

def bench_eligibility(bootstrap: str, workdir: Path, rate: int, seconds: int, subscribers: int) -> None:
    settings = _settings(bootstrap, workdir)
    ensure_all_topics(bootstrap, PARTITIONS, settings.topic_prefix)
    prefix = settings.topic_prefix
    services = [start_service(name, settings, log_path=workdir / f"{name}.log")
                for name in ("subscriber_directory", "eligibility")]
    with Publisher(bootstrap, "bench-crm", prefix) as crm:
        for i in range(subscribers):
            crm.publish("subscriber-upserted", msisdn=f"+8490{i:07d}", owner_type="individual", subscription_type="prepaid",
                        tier="premium" if i % 5 == 0 else "standard", subscribed_since=dt.date(2019, 1, 1),
                        kndl_member=i % 7 == 0)
        crm.flush()
    sessions = session_factory(settings.database_url)
    while True:
        with sessions() as session:
            if session.scalar(select(func.count()).select_from(Subscriber)) >= subscribers:
                break
        time.sleep(0.5)

    sent: dict[str, float] = {}
    latencies: dict[str, float] = {}
    stop = threading.Event()

    def listen() -> None:
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{prefix}bench-desktop",
                             "isolation.level": "read_committed", "auto.offset.reset": "latest",
                             "fetch.wait.max.ms": 5})
        consumer.subscribe([prefix + "profile-prompted"])
        while not stop.is_set():
            message = consumer.poll(0.1)
            if message is None or message.error():
                continue
            received = time.perf_counter()
            event = codec.decode("profile-prompted", message.value())
            if event.call_id in sent:
                latencies[event.call_id] = received - sent[event.call_id]
        consumer.close()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(3)
    telephony = Publisher(bootstrap, "bench-telephony", prefix, **{"linger.ms": 0})
    answered_at = dt.datetime.now(VN).replace(hour=10)

    def play(calls_per_second: int, duration: int) -> list[float]:
        latencies.clear()
        start = time.perf_counter()
        total = calls_per_second * duration
        for n in range(total):
            due = start + n / calls_per_second
            while (now := time.perf_counter()) < due:
                time.sleep(min(due - now, 0.002))
            call_id = uuid.uuid4().hex
            sent[call_id] = time.perf_counter()
            telephony.publish("subscriber-call-answered", call_id=call_id, msisdn=f"+8490{n % subscribers:07d}",
                              answered_at=answered_at, call_reason="general", caller_is_user=True,
                              customer_mood="normal", agent_id="DTV-01", channel="call_centre")
        telephony.flush()
        deadline = time.perf_counter() + 10
        while len(latencies) < total and time.perf_counter() < deadline:
            time.sleep(0.1)
        return sorted(latencies.values())

    def percentiles(values: list[float]) -> tuple[float, float, float]:
        quantiles = statistics.quantiles(values, n=100)
        return quantiles[49] * 1000, quantiles[98] * 1000, values[-1] * 1000

    measured = play(rate, seconds)
    p50, p99, worst = percentiles(measured)
    rows = [(f"{rate}/s for {seconds} s: prompts received", f"{len(measured):,} of {rate * seconds:,}"),
            ("p50", f"{p50:.1f} ms"), ("p99", f"{p99:.1f} ms"), ("max", f"{worst:.1f} ms")]
    best = rate if p99 < 50 else None
    step = rate * 2
    while step <= 3200:
        values = play(step, 15)
        if len(values) < step * 15 * 0.99:
            rows.append((f"{step}/s for 15 s", f"fell behind: {len(values):,} of {step * 15:,} within 10 s"))
            break
        _, step_p99, _ = percentiles(values)
        rows.append((f"{step}/s for 15 s: p99", f"{step_p99:.1f} ms"))
        if step_p99 >= 50:
            break
        best = step
        step *= 2
    rows.append(("highest sustained rate with p99 < 50 ms (steps doubling)", f"{best}/s" if best else "none"))
    stop.set()
    listener.join(5)
    for process in services:
        process.terminate()
        process.wait(30)
    _table("eligibility: subscriber-call-answered → profile-prompted", rows)


def main() -> None:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("runtime", "leads", "eligibility"))
    parser.add_argument("--events", type=int, default=100_000, help="runtime: events to relay")
    parser.add_argument("--rows", type=int, default=1_000_000, help="leads: rows in the synthetic list")
    parser.add_argument("--normalizers", type=int, default=2, help="leads: normalizer instances")
    parser.add_argument("--rate", type=int, default=200, help="eligibility: answered calls per second")
    parser.add_argument("--seconds", type=int, default=60, help="eligibility: how long at that rate")
    parser.add_argument("--subscribers", type=int, default=10_000)
    args = parser.parse_args()
    os.environ.setdefault("CAREFLOW_LOG_LEVEL", "WARNING")
    with broker_from_environment() as bootstrap, tempfile.TemporaryDirectory(prefix="careflow-bench-") as folder:
        workdir = Path(folder)
        baseline = None
        if args.only in (None, "runtime"):
            baseline = bench_runtime(bootstrap, workdir, args.events)
        if args.only in (None, "leads"):
            bench_leads(bootstrap, workdir, args.rows, args.normalizers, baseline)
        if args.only in (None, "eligibility"):
            bench_eligibility(bootstrap, workdir, args.rate, args.seconds, args.subscribers)


if __name__ == "__main__":
    main()
