"""Part 5: the normalizer against peers, the same normalization done three ways on one input.

One synthetic list (leads.write_list) is imported once (`careflow import`, not timed) into a fresh
topic prefix's `lead-imported`. Then, in this process, one after the other on that same topic,
each with a consumer group and output topics of its own:

- careflow: the normalizer service's ServiceRunner (decode, validate, handler, emit, EOS batches);
- quix-streams: an Application with processing_guarantee="exactly-once"; quix's own
  AvroDeserializer / AvroSerializer (fastavro) carry the records, wrapped as a quix user would
  (a Deserializer / Serializer subclass) to strip / add Avro single-object framing, which quix
  lacks: the 10-byte header (C3 01 + fingerprint) is careflow's codec's MAGIC and the contract's
  fingerprint;
- plain: the confluent-kafka transactional loop of part 1 with fastavro schemaless_reader /
  schemaless_writer around the same rule.

The peers apply shared.domain.leads.normalize_lead and the normalizer's decision without an
enrichment source (the bench configures none): a lead with a phone or an e-mail is lead-normalized,
one with neither is lead-escalated ("not_found") to its province's post office. careflow also asks
the lead's lifecycle (a read in its store) before escalating: that is its own work, counted.

Each side's clock runs from the first message handed over to its last transaction committed;
CPU is this process's (with librdkafka's threads) over the same span plus the group join. The
outputs are read back read_committed and decoded with the contract; a digest of each side's
records without the envelope (event type, key, fields; sorted, so order-independent) must be equal.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer
from fastavro import schemaless_reader, schemaless_writer

from shared.contract.codec import HEADER_LENGTH, MAGIC, decode_record
from shared.contract.registry import contract
from shared.domain.leads import RawLead, normalize_lead
from shared.domain.provinces import post_office_code
from shared.kafka import ensure_all_topics, ensure_topics
from tests.bench.common import PARTITIONS, Offsets, console, fresh_settings, table
from tests.bench.leads import _service_env, write_list
from tests.bench.throughput import careflow_runtime, plain_loop
from tests.support import ROOT

IMPORTED = "lead-imported"
OUTPUTS = ("lead-normalized", "lead-escalated")
_EVENT_IDS = uuid.UUID("6f1c2f4e-4b0e-4d55-9a43-6b1b1c0c9e21")


def peer_event(imported: dict, producer: str) -> tuple[str, dict]:
    """What the normalizer makes of a lead-imported record, with careflow's domain functions."""
    lead = normalize_lead(RawLead(imported["tax_code"], imported["company_name"], imported["address"],
                                  imported["phones"], imported["emails"]))
    if lead.phones or lead.emails:
        event_type = "lead-normalized"
        fields = dict(tax_code=lead.tax_code, tax_code_valid=lead.tax_code_valid, company_name=lead.company_name,
                      province_code=lead.province_code,
                      phones=[{"e164": p.e164, "type": p.type.value} for p in lead.phones], emails=list(lead.emails),
                      invalid_phones=list(lead.invalid_phones), invalid_emails=list(lead.invalid_emails),
                      has_email=lead.has_email, has_mobile=lead.has_mobile, has_landline=lead.has_landline,
                      outreach_list=lead.outreach_list.value, enrichment_source=None)
    else:
        event_type = "lead-escalated"
        fields = dict(owner=post_office_code(lead.province_code), province_code=lead.province_code,
                      reason="not_found", detail="no contact in the list and no enrichment source knows it")
    cause = imported["envelope"]
    envelope = {"event_id": str(uuid.uuid5(_EVENT_IDS, cause["event_id"])), "event_type": event_type,
                "occurred_at": dt.datetime.now(dt.timezone.utc), "producer": producer,
                "correlation_id": cause["correlation_id"], "causation_id": cause["event_id"]}
    return event_type, {"envelope": envelope, "lead_id": imported["lead_id"], **fields}


def _unframe(event_type: str, value: bytes) -> bytes:
    """The Avro body of a single-object encoded message written with the current schema."""
    if value[:2] != MAGIC or value[2:HEADER_LENGTH] != contract(event_type).fingerprint:
        raise ValueError(f"{event_type}: not single-object Avro of the current schema")
    return value[HEADER_LENGTH:]


# --- quix-streams ------------------------------------------------------------------------------

def quix_normalizer(settings, count: int, state_dir: Path) -> float:
    from quixstreams import Application
    from quixstreams.models.serializers import Deserializer, Serializer
    from quixstreams.models.serializers.avro import AvroDeserializer, AvroSerializer

    clock: dict[str, float] = {}

    class SingleObjectDeserializer(Deserializer):
        def __init__(self, event_type: str):
            super().__init__()
            self.event_type, self.avro = event_type, AvroDeserializer(contract(event_type).schema)

        def __call__(self, value: bytes, ctx):
            clock.setdefault("first", time.perf_counter())
            return self.avro(_unframe(self.event_type, value), ctx)

    class SingleObjectSerializer(Serializer):
        def __init__(self, event_type: str):
            super().__init__()
            spec = contract(event_type)
            self.header, self.avro = MAGIC + spec.fingerprint, AvroSerializer(spec.schema)

        def __call__(self, value, ctx) -> bytes:
            return self.header + self.avro(value, ctx)

    prefix = settings.topic_prefix
    processed = 0
    app: Application

    def on_processed(_topic, _partition, _offset) -> None:
        nonlocal processed
        processed += 1
        if processed >= count:
            app.stop()  # leaves the loop, whose exit commits the last checkpoint (transaction)

    app = Application(broker_address=settings.kafka_bootstrap_servers, consumer_group=prefix + "quix",
                      auto_offset_reset="earliest", processing_guarantee="exactly-once",
                      commit_interval=float(os.environ.get("BENCH_QUIX_COMMIT_INTERVAL", "1")),
                      state_dir=state_dir, loglevel="WARNING", on_message_processed=on_processed)
    source = app.topic(prefix + IMPORTED, value_deserializer=SingleObjectDeserializer(IMPORTED))
    events = app.dataframe(source).apply(lambda record: peer_event(record, "quix"))
    for event_type in OUTPUTS:
        sink = app.topic(f"{prefix}quix.{event_type}", value_serializer=SingleObjectSerializer(event_type))
        events[events.apply(lambda e, t=event_type: e[0] == t)].apply(lambda e: e[1]).to_topic(sink)
    app.run()
    return count / (time.perf_counter() - clock["first"])


# --- the plain loop ----------------------------------------------------------------------------

def plain_normalizer(settings, count: int) -> float:
    prefix = settings.topic_prefix
    reader = contract(IMPORTED).parsed
    writers = {t: (MAGIC + contract(t).fingerprint, contract(t).parsed) for t in OUTPUTS}

    def transform(message):
        record = schemaless_reader(io.BytesIO(_unframe(IMPORTED, message.value())), reader)
        event_type, event = peer_event(record, "plain")
        header, schema = writers[event_type]
        buffer = io.BytesIO(header)
        buffer.seek(len(header))
        schemaless_writer(buffer, schema, event)
        return [(f"{prefix}plain.{event_type}", message.key(), buffer.getvalue())]

    return plain_loop(settings, count, transform, group="plain-normalizer")


def careflow_normalizer(settings, count: int) -> float:
    from services.normalizer.handler import SERVICE

    return careflow_runtime(settings, count, SERVICE)


# --- checking and running ----------------------------------------------------------------------

def digest(bootstrap: str, topics: dict[str, str], count: int, timeout: float = 120) -> tuple[int, str]:
    """(records, digest) of what `topics` (event type → topic) hold, read_committed."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-digest-{uuid.uuid4().hex}",
                         "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    types = {topic: event_type for event_type, topic in topics.items()}
    consumer.subscribe(list(types))
    lines: list[str] = []
    deadline, settle_until = time.monotonic() + timeout, None
    while time.monotonic() < deadline and (settle_until is None or time.monotonic() < settle_until):
        for message in consumer.consume(500, timeout=0.2):
            if message.error() is None:
                event_type = types[message.topic()]
                record = decode_record(contract(event_type), message.value())
                record.pop("envelope")
                lines.append(json.dumps([event_type, message.key().decode(), record], sort_keys=True, default=str))
        if len(lines) >= count and settle_until is None:
            settle_until = time.monotonic() + 1.0  # to see any extra
    consumer.close()
    return len(lines), hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()[:16]


def _import(settings, path: Path, workdir: Path) -> int:
    with open(workdir / f"{settings.topic_prefix}import.log", "wb") as log:
        subprocess.run([sys.executable, "-m", "shared.operators.cli", "import", str(path), "--quiet"], cwd=ROOT,
                       env=_service_env(settings), stdout=log, stderr=log, check=True)
    client = Offsets(settings.kafka_bootstrap_servers)
    published = sum(client.high(settings.topic_prefix + IMPORTED))
    client.close()
    return published


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bench_peers(bootstrap: str, workdir: Path, rows: int, rounds: int = 1) -> None:
    try:
        import quixstreams  # noqa: F401
    except ImportError:
        console.print("[yellow]peers: quixstreams is not installed (pip install -e '.[bench]'); part skipped[/]")
        return
    path = workdir / "peers.csv"
    write_list(path, rows)
    # The three share this process's domain caches (e-mail domains, patterns): warm them for all alike.
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            normalize_lead(RawLead(row["tax_code"], row["company_name"], row["address"], row["phones"], row["emails"]))
    contenders = {"careflow": careflow_normalizer,
                  "quix-streams": lambda s, n: quix_normalizer(s, n, workdir / f"{s.topic_prefix}quix-state"),
                  "plain loop": plain_normalizer}
    outputs = {"careflow": "", "quix-streams": "quix.", "plain loop": "plain."}
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    digests: dict[str, set] = {name: set() for name in contenders}
    for round_ in range(rounds):
        settings = fresh_settings(bootstrap, workdir, "peers")
        prefix = settings.topic_prefix
        ensure_all_topics(bootstrap, PARTITIONS, prefix)
        ensure_topics(bootstrap, [f"{prefix}{side}{t}" for side in ("quix.", "plain.") for t in OUTPUTS], PARTITIONS)
        published = _import(settings, path, workdir)
        order = list(contenders)[round_ % 3:] + list(contenders)[:round_ % 3]  # none always first
        for name in order:
            cpu = _cpu()
            rate = contenders[name](settings, published)
            cpu_us = (_cpu() - cpu) / published * 1e6
            runs[name].append((rate, cpu_us))
            digests[name].add(digest(bootstrap, {t: f"{prefix}{outputs[name]}{t}" for t in OUTPUTS}, published))
            console.print(f"  peers round {round_ + 1}: {name:12s} {rate:>8,.0f} leads/s, {cpu_us:,.0f} µs CPU a lead")
    best = {name: max(rate for rate, _ in values) for name, values in runs.items()}
    cpu = {name: min(c for _, c in values) for name, values in runs.items()}
    same = len({frozenset(d) for d in digests.values()}) == 1 and all(len(d) == 1 for d in digests.values())
    fmt = lambda values: ", ".join(f"{r:,.0f}/s {c:,.0f} µs" for r, c in values)  # noqa: E731
    table(f"5. peers: lead-imported → lead-normalized / lead-escalated, {published:,} leads, {PARTITIONS} partitions, "
          f"best of {rounds}", [
              ("careflow normalizer (ServiceRunner, EOS batches ≤ 500)", f"{best['careflow']:,.0f} leads/s"),
              ("quix-streams Application, exactly-once", f"{best['quix-streams']:,.0f} leads/s"),
              ("plain confluent-kafka transactional loop + fastavro", f"{best['plain loop']:,.0f} leads/s"),
              ("careflow ÷ quix-streams", f"{best['careflow'] / best['quix-streams']:.2f}"),
              ("careflow ÷ plain loop", f"{best['careflow'] / best['plain loop']:.2f}"),
              ("CPU µs a lead (this process): careflow / quix-streams / plain",
               f"{cpu['careflow']:,.0f} / {cpu['quix-streams']:,.0f} / {cpu['plain loop']:,.0f}"),
              *((f"all runs: {name}", fmt(values)) for name, values in runs.items()),
              ("outputs equal (records, digest of decoded records without envelope)",
               ("ok " if same else "MISMATCH ") + "; ".join(f"{n}: {sorted(d)}" for n, d in digests.items())),
          ], note="clock: first message handed over → last transaction committed; quix commit interval "
                  f"{os.environ.get('BENCH_QUIX_COMMIT_INTERVAL', '1')} s (BENCH_QUIX_COMMIT_INTERVAL)")
