"""Part 2: the lead pipeline, file → lead-imported → normalizer → lead-normalized → segmenter.

A synthetic list of realistic Vietnamese rows is written once. For each normalizer instance count,
on a fresh topic prefix: the normalizers run as processes (`careflow service normalizer`) and have
joined their group, then `careflow import FILE` runs as a process; the clock starts when the import
starts and stops when the normalizers' committed offsets cover every imported lead (EOS: an offset
is committed in the same transaction as that lead's lead-normalized / lead-escalated).
The segmenter (SQLite) runs alongside, and the clock of the whole pipeline stops at its last request.
Then the segmenter alone works through the last run's lead-normalized backlog from its start: one process on SQLite,
then one and two on PostgreSQL (a throwaway cluster, when the binaries are installed).
"""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from shared.kafka import ensure_all_topics
from shared.store import migrate, session_factory
from shared.store.models import ProcessedEvent
from tests.bench.common import (PARTITIONS, Offsets, console, cpu_seconds, cpu_seconds_by_thread, fresh_settings,
                                machine_busy_seconds, peak_rss_mb, stop, table, wait_for_group)
from tests.postgres import fresh_database, postgres_bindir, throwaway_postgres
from tests.support import ROOT, start_service

TARGET = 10_000  # leads/s from file to lead-normalized, on the 2-core machine
REQUESTS_TARGET = 5_000  # leads/s from file to the last outreach request
WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


# --- the synthetic list --------------------------------------------------------------------------

def tax_code(n: int) -> str:
    """The first valid 10-digit tax code from n on (stdnum.vn.mst): check = 10 − (Σ wᵢdᵢ mod 11) over digits
    1-9 weighted 31,29,23,19,17,13,7,5,3; remainder 0 has no check digit."""
    while True:
        digits = f"{n % 10**9:09d}"
        remainder = sum(w * int(d) for w, d in zip(WEIGHTS, digits)) % 11
        if remainder and digits[2:9] != "0000000":  # the serial part is never all zeros
            return digits + str(10 - remainder)
        n += 1


def _province_names() -> list[str]:
    data = json.loads((ROOT / "shared" / "domain" / "data" / "provinces.json").read_text(encoding="utf-8"))
    names = list(data["provinces"].values())
    for unit in data["old_units"]:  # old lists name the 63 former provinces, sometimes abbreviated
        names += [unit["name"], *unit["aliases"]]
    return names


_KINDS = ["Công ty TNHH", "Công ty Cổ phần", "Công ty TNHH MTV", "Doanh nghiệp tư nhân", "Hợp tác xã", "CÔNG TY TNHH"]
_WORDS = ["Thương mại", "Dịch vụ", "Xây dựng", "Vận tải", "Sản xuất", "Thực phẩm", "May mặc", "Công nghệ", "Du lịch",
          "Nông sản", "Cơ khí", "Điện tử", "Minh Phát", "Hưng Thịnh", "An Khang", "Phú Quý", "Thành Công", "Sao Việt",
          "Hoàng Long", "Tân Tiến", "Bình Minh", "Đại Dương", "Nam Á", "Kim Ngân"]
_STREETS = ["Lê Lợi", "Trần Hưng Đạo", "Nguyễn Trãi", "Hai Bà Trưng", "Lý Thường Kiệt", "Quang Trung", "Điện Biên Phủ",
            "Nguyễn Văn Linh", "Hùng Vương", "Phạm Văn Đồng", "Lê Duẩn", "Cách Mạng Tháng Tám"]
_WARDS = ["phường Bến Nghé", "phường 7", "xã Tân Phú", "phường Hòa Cường", "thị trấn Đông Anh", "phường Lê Lợi",
          "xã Xuân Thới Sơn", "phường Trung Hòa", "phường An Hải", ""]
_MOBILE_PREFIXES = ["90", "93", "89", "70", "76", "77", "78", "79", "91", "94", "88", "96", "97", "98", "86", "32",
                    "33", "34", "35", "36", "37", "38", "39", "81", "82", "83", "84", "85", "56", "58", "99", "59"]
_OLD_MOBILE = ["120", "121", "122", "126", "128", "123", "124", "125", "127", "129", "162", "163", "164", "165",
               "166", "167", "168", "169", "186", "188", "199"]
_AREA = ["24", "28", "236", "225", "292", "203", "204", "251", "274", "238"]
_DOMAINS = ["gmail.com", "yahoo.com", "yahoo.com.vn", "outlook.com", "vnn.vn", "hn.vnn.vn", "fpt.vn"]


def _mobile(rng: random.Random) -> str:
    national = rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**7):07d}"
    return rng.choice([f"0{national}", f"0{national[:3]} {national[3:6]} {national[6:]}", f"+84{national}",
                       f"84{national}", f"(+84) {national[:2]} {national[2:5]} {national[5:]}",
                       f"0{national[:3]}.{national[3:6]}.{national[6:]}"])


def _old_mobile(rng: random.Random) -> str:  # 11-digit 01x numbers, renumbered in 2018
    return f"0{rng.choice(_OLD_MOBILE)}{rng.randrange(10**7):07d}"


def _landline(rng: random.Random) -> str:
    area = rng.choice(_AREA)
    local = f"{rng.randrange(2, 4)}{rng.randrange(10**(9 - len(area) - 1)):0{9 - len(area) - 1}d}"
    old_area = {"24": "4", "28": "8"}.get(area)  # Hà Nội and TP.HCM before 2017: (04) and (08)
    return rng.choice([f"(0{area}) {local}", f"0{area}{local}", f"0{old_area} {local[1:]}" if old_area else f"0{area}.{local}"])


def _phones(rng: random.Random) -> str:
    parts = [rng.choice((_mobile, _mobile, _mobile, _old_mobile, _landline))(rng) for _ in range(rng.choice((0, 1, 1, 1, 2, 2, 3)))]
    if rng.random() < 0.03:
        parts.append(rng.choice(["1900 54 54 81", "0123", "không có", "18001090"]))  # service numbers, junk
    return rng.choice(["; ", " / ", " - ", ", "]).join(parts)


def _emails(rng: random.Random, i: int) -> str:
    out = []
    for _ in range(rng.choice((0, 0, 1, 1, 1, 2))):
        user = rng.choice(["ketoan", "info", "lienhe", "hanhchinh", "sales", "nhansu", "giamdoc"]) + str(i % 1000)
        out.append(rng.choice([f"{user}@{rng.choice(_DOMAINS)}", f"{user}@congty{i % 9973}.com.vn",
                               f"{user.upper()}@{rng.choice(_DOMAINS).upper()}", f"{user} @ {rng.choice(_DOMAINS)}",
                               f"{user}[at]{rng.choice(_DOMAINS)}"]))
    return rng.choice([";", "; ", " , "]).join(out)


def write_list(path: Path, rows: int, seed: int = 2025) -> None:
    """Streams the list to disk: valid tax codes (some with a branch suffix or spaced out, ~2 % with a
    wrong check digit, ~1 % missing), addresses ending in an old or new province name, phones in
    every writing, e-mails (some malformed)."""
    rng = random.Random(seed)
    provinces = _province_names()
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tax_code", "company_name", "address", "phones", "emails"])
        for i in range(rows):
            code = tax_code(100_000_000 + i * 7 + rng.randrange(7))
            roll = rng.random()
            if roll < 0.01:
                code = ""
            elif roll < 0.03:
                code = code[:9] + str((int(code[9]) + 1) % 10)  # a typo in the check digit
            elif roll < 0.10:
                code = f"{code}-{rng.randrange(1, 20):03d}"  # a branch
            elif roll < 0.15:
                code = f"{code[:4]} {code[4:7]} {code[7:]}"
            name = f"{rng.choice(_KINDS)} {rng.choice(_WORDS)} {rng.choice(_WORDS)} {i % 997}"
            ward = rng.choice(_WARDS)
            address = ", ".join(filter(None, [f"Số {rng.randrange(1, 500)} đường {rng.choice(_STREETS)}", ward,
                                              rng.choice(provinces)]))
            writer.writerow([code, name, address, _phones(rng), _emails(rng, i)])


# --- the pipeline ----------------------------------------------------------------------------------

def _service_env(settings) -> dict:
    return {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
            "DATABASE_URL": settings.database_url, "CAREFLOW_TOPIC_PREFIX": settings.topic_prefix,
            "CAREFLOW_PARTITIONS": str(settings.partitions)}


def run_pipeline(bootstrap: str, workdir: Path, path: Path, rows: int, normalizers: int) -> dict:
    settings = fresh_settings(bootstrap, workdir, f"leads{normalizers}")
    prefix = settings.topic_prefix
    ensure_all_topics(bootstrap, PARTITIONS, prefix)
    group, source = prefix + "normalizer", prefix + "lead-imported"
    processes = [start_service("normalizer", settings, instance_id=str(i),
                               log_path=workdir / f"{prefix}normalizer-{i}.log") for i in range(normalizers)]
    # The segmenter works alongside: the clock of the whole pipeline stops at its last request.
    segmenter = start_service("segmenter", settings, log_path=workdir / f"{prefix}segmenter.log")
    normalized, segmenter_group = prefix + "lead-normalized", prefix + "segmenter"
    client = Offsets(bootstrap)
    try:
        wait_for_group(bootstrap, group, normalizers, process=processes)
        wait_for_group(bootstrap, segmenter_group, 1, process=[segmenter])
        normalizer_cpu = sum(cpu_seconds(p.pid) for p in processes)  # start-up and joining do not count
        segmenter_cpu = cpu_seconds(segmenter.pid)
        machine_busy = machine_busy_seconds()
        with open(workdir / f"{prefix}import.log", "wb") as log:
            started = time.monotonic()
            importer = subprocess.Popen([sys.executable, "-m", "shared.operators.cli", "import", str(path), "--quiet"],
                                        cwd=ROOT, env=_service_env(settings), stdout=log, stderr=log)
        imported_at = importer_cpu = published = first_commit = backlog = None
        importer_rss = 0.0
        deadline = started + max(900, rows / 200)
        committed = 0
        while time.monotonic() < deadline:
            if imported_at is None:
                pid, status, usage = os.wait4(importer.pid, os.WNOHANG)
                if pid:
                    imported_at = time.monotonic()
                    importer.returncode = os.waitstatus_to_exitcode(status)
                    if importer.returncode != 0:
                        raise RuntimeError(f"careflow import exited with {importer.returncode}: "
                                           f"{(workdir / f'{prefix}import.log').read_text()[-2000:]}")
                    importer_cpu = usage.ru_utime + usage.ru_stime
                    published = sum(client.high(source))
                else:
                    # Its own peak so far (a missing reading, nan, leaves the maximum as it is). wait4's
                    # ru_maxrss, read before, counted this bench process's size at the fork, which Linux
                    # keeps if larger: 187 MB in a whole bench's run, 100-107 MB with the import alone.
                    importer_rss = max(importer_rss, peak_rss_mb(importer.pid))
            committed = sum(client.committed(group, source))
            now = time.monotonic()
            if committed and first_commit is None:
                first_commit = now
            if published is not None and backlog is None:
                backlog = published - committed
            if published is not None and committed >= published:
                break
            for process in (*processes, segmenter):
                if process.poll() is not None:
                    raise RuntimeError(f"a service exited with {process.returncode}")
            time.sleep(0.2)
        else:
            raise RuntimeError(f"the normalizers did not finish in time ({committed:,} of {published} leads)")
        done = time.monotonic()
        normalizer_cpu = sum(cpu_seconds(p.pid) for p in processes) - normalizer_cpu
        rss = [peak_rss_mb(p.pid) for p in processes]
        high = client.high(normalized)
        # Each partition ends with a transaction marker: committed at high − 1 is the end.
        while not all(c >= h - 1 for c, h in zip(client.committed(segmenter_group, normalized), high)):
            if segmenter.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the segmenter exited or did not finish in time")
            time.sleep(0.2)
        requested = time.monotonic()
        machine_busy = machine_busy_seconds() - machine_busy
        segmenter_cpu = cpu_seconds(segmenter.pid) - segmenter_cpu
        segmenter_rss = peak_rss_mb(segmenter.pid)
    finally:
        stop([*processes, segmenter])
        client.close()
    return {"settings": settings, "normalizers": normalizers, "published": published, "rows": rows,
            "import_rate": rows / (imported_at - started), "import_seconds": imported_at - started,
            "e2e_rate": published / (done - started), "e2e_seconds": done - started,
            "normalizer_rate": published / (done - first_commit), "backlog": backlog,
            "requests_rate": published / (requested - started), "requests_seconds": requested - started,
            "importer_rss": importer_rss, "normalizer_rss": rss, "segmenter_rss": segmenter_rss,
            # CPU µs per lead: the importer, the normalizers, and the rest of the machine (the broker, mostly)
            "cpu_seconds": {"importer": importer_cpu, "normalizers": normalizer_cpu, "segmenter": segmenter_cpu,
                            "rest": machine_busy - importer_cpu - normalizer_cpu - segmenter_cpu,
                            "total": machine_busy}}


def run_segmenter(bootstrap: str, settings, cap_seconds: float, workdir: Path, instances: int,
                  database_url: str) -> dict:
    """The segmenter (`instances` processes on `database_url`, a fresh store) through the whole
    lead-normalized backlog of `settings`' run, from its first offset."""
    prefix = settings.topic_prefix
    group, source = prefix + "segmenter", prefix + "lead-normalized"
    migrate(database_url)
    settings = settings.model_copy(update={"database_url": database_url})
    client = Offsets(bootstrap)
    client.rewind(group, source)  # an earlier run's group, left: start over on the new store
    tag = f"{prefix}segmenter-{database_url.split(':')[0]}-{instances}"
    processes = [start_service("segmenter", settings, instance_id=str(i), log_path=workdir / f"{tag}-{i}.log")
                 for i in range(instances)]
    sessions = session_factory(settings.database_url)

    def handled() -> int:
        with sessions() as session:
            return session.scalar(select(func.count()).select_from(ProcessedEvent)
                                  .where(ProcessedEvent.consumer == group)) or 0

    try:
        wait_for_group(bootstrap, group, instances, process=processes)
        cpu = sum(cpu_seconds(p.pid) for p in processes)  # start-up and joining do not count
        threads_before = [cpu_seconds_by_thread(p.pid) for p in processes]
        started = time.monotonic()
        high = client.high(source)
        caught_up = False
        while time.monotonic() - started < cap_seconds:
            for process in processes:
                if process.poll() is not None:
                    raise RuntimeError(f"a segmenter exited with {process.returncode}")
            committed = client.committed(group, source)
            # Each partition ends with a transaction marker: committed at high − 1 is the end.
            if all(c >= h - 1 for c, h in zip(committed, high)):
                caught_up = True
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        cpu = sum(cpu_seconds(p.pid) for p in processes) - cpu
        threads = {part: sum(cpu_seconds_by_thread(p.pid)[part] - before[part]
                             for p, before in zip(processes, threads_before)) for part in threads_before[0]}
        count = handled()
        rss = max(peak_rss_mb(p.pid) for p in processes)
    finally:
        stop(processes)
        client.close()
        sessions.kw["bind"].dispose()
    return {"handled": count, "rate": count / elapsed, "seconds": elapsed, "caught_up": caught_up, "rss": rss,
            "cpu_us": cpu / max(count, 1) * 1e6, "instances": instances,
            "threads_us": {part: seconds / max(count, 1) * 1e6 for part, seconds in threads.items()}}


def segmenter_runs(bootstrap: str, workdir: Path, settings, cap_seconds: float) -> list[tuple[str, dict]]:
    """One instance on SQLite, then one and two on PostgreSQL (the scale-out path) when it is installed."""
    alone = f"sqlite:///{workdir / (settings.topic_prefix + 'segmenter-alone.db')}"
    runs = [("SQLite", run_segmenter(bootstrap, settings, cap_seconds, workdir, 1, alone))]
    bindir = postgres_bindir()
    if bindir is None:
        console.print("[yellow]leads: PostgreSQL binaries not installed: the segmenter runs on SQLite only[/]")
        return runs
    with throwaway_postgres(bindir) as server:
        for instances in (1, 2):
            runs.append((f"PostgreSQL, {instances} instance(s)",
                         run_segmenter(bootstrap, settings, cap_seconds, workdir, instances, fresh_database(server))))
    return runs


IN_PROCESS_LEADS = 20_000  # the in-process segmenter runs on the list's first rows, at most this many
IN_PROCESS_BATCH = 500  # the services' default CAREFLOW_BATCH_SIZE


def in_process_handler(service: str, url: str):
    """A `BatchHandler` of `service` on a migrated store at `url`, with no broker, at a fixed clock: a
    Tuesday morning in Vietnam, within every permitted hour (the same decisions in every run)."""
    from shared.config import Policies, Settings
    from shared.runner.batch import BatchHandler
    from services import load
    from tests.handlers import MORNING

    migrate(url)
    settings = Settings(DATABASE_URL=url)
    return BatchHandler(load(service), settings, Policies(settings), lambda: MORNING,
                        session_factory(url, for_writes=service != "normalizer"))


def batches(records: list) -> list[list]:
    return [records[i:i + IN_PROCESS_BATCH] for i in range(0, len(records), IN_PROCESS_BATCH)]


def in_process_events(workdir: Path, path: Path, rows: int) -> tuple[list, list, list]:
    """The list's first `rows` rows as `lead-imported` records, the `lead-normalized` records the
    normalizer makes of them (in process), and `consent-changed` records granting a third of their
    contacts every channel."""
    from shared.contract import build_event, codec, envelope
    from tests.handlers import MORNING, Record

    imported = []
    with open(path, newline="", encoding="utf-8") as handle:
        for i, row in zip(range(rows), csv.DictReader(handle)):
            event = build_event("lead-imported", envelope("lead-imported", "bench"), lead_id=f"bench:{i}",
                                source=path.name, row_number=i + 2,
                                **{field: row[field] or None for field in
                                   ("tax_code", "company_name", "address", "phones", "emails")})
            imported.append(Record("lead-imported", codec.encode("lead-imported", event), b"k"))
    normalizer = in_process_handler("normalizer", f"sqlite:///{workdir / 'in-process-normalizer.db'}")
    normalized = [Record(output.topic, output.value, output.key) for batch in batches(imported)
                  for output in normalizer.handle(batch) if output.topic == "lead-normalized"]
    rng = random.Random(7)
    consents = []
    for record in normalized:
        lead = codec.decode("lead-normalized", record.value())
        for contact in (*lead.emails, *(phone.e164 for phone in lead.phones)):
            if rng.random() < 1 / 3:
                event = build_event("consent-changed", envelope("consent-changed", "bench"), contact=contact,
                                    contact_kind="email" if "@" in contact else "phone", channel="all",
                                    status="granted", source="bench", evidence="bench", changed_at=MORNING)
                consents.append(Record("consent-changed", codec.encode("consent-changed", event), b"k"))
    return imported, normalized, consents


def segmenter_in_process(workdir: Path, path: Path, rows: int, rounds: int = 2) -> list[tuple[str, list[dict]]]:
    """The segmenter's own cost, no broker: `BatchHandler` over the list's lead-normalized events (the
    normalizer's output, made in process first, not timed) in batches of 500, on a fresh SQLite file
    store each round; as in the pipeline (no consent anywhere: each lead blocked, then escalated), and
    with a third of the contacts consenting first (requests, daily caps, call tasks)."""
    _, normalized, consents = in_process_events(workdir, path, min(rows, IN_PROCESS_LEADS))
    results: dict[str, list[dict]] = {"no consent (as the pipeline)": [], "a third of the contacts consenting": []}
    for round_ in range(rounds):
        for data, runs in results.items():
            segmenter = in_process_handler(
                "segmenter", f"sqlite:///{workdir / f'in-process-segmenter-{round_}-{len(runs)}-{len(data)}.db'}")
            if data.startswith("a third"):
                for batch in batches(consents):
                    segmenter.handle(batch)
            cpu, wall = time.process_time(), time.perf_counter()
            outputs = sum(len(segmenter.handle(batch)) for batch in batches(normalized))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            runs.append({"leads": len(normalized), "outputs": outputs, "rate": len(normalized) / wall,
                         "cpu_us": cpu / len(normalized) * 1e6})
    return list(results.items())


def bench_leads(bootstrap: str, workdir: Path, rows: int, normalizer_counts: list[int], baseline: float | None,
                segmenter_seconds: float) -> None:
    if not (ROOT / "shared" / "domain" / "leads.py").exists():
        console.print("[yellow]leads: shared/domain/leads.py is missing: the normalizer cannot run; part skipped[/]")
        return
    path = workdir / "leads.csv"
    started = time.perf_counter()
    write_list(path, rows)
    console.print(f"  leads: wrote {rows:,} rows ({path.stat().st_size / 1e6:,.0f} MB) in "
                  f"{time.perf_counter() - started:,.1f} s")
    if baseline is None:  # --only leads: the raw consume-produce figure of this run still counts
        from tests.bench.throughput import plain_loop, produce_leads

        settings = fresh_settings(bootstrap, workdir, "baseline")
        ensure_all_topics(bootstrap, PARTITIONS, settings.topic_prefix)
        produce_leads(settings, 50_000)
        baseline = plain_loop(settings, 50_000)
        console.print(f"  leads: baseline (plain EOS loop, 50,000 events) {baseline:,.0f} events/s")
    runs = []
    for count in normalizer_counts:
        run = run_pipeline(bootstrap, workdir, path, rows, count)
        runs.append(run)
        console.print(f"  leads: {count} normalizer(s): import {run['import_rate']:,.0f} rows/s, "
                      f"end to end {run['e2e_rate']:,.0f} leads/s")
    segmenters = segmenter_runs(bootstrap, workdir, runs[-1]["settings"], segmenter_seconds) if runs else []
    in_process = segmenter_in_process(workdir, path, rows)
    out: list[tuple[str, str]] = [("rows in the list / events published", f"{rows:,} / {runs[0]['published']:,}")]
    for run in runs:
        n = run["normalizers"]
        out += [
            (f"[{n}×normalizer] import: file → lead-imported (careflow import)",
             f"{run['import_rate']:,.0f} rows/s ({run['import_seconds']:,.1f} s)"),
            (f"[{n}×normalizer] end to end: file → last lead-normalized committed",
             f"{run['e2e_rate']:,.0f} leads/s ({run['e2e_seconds']:,.1f} s)"),
            (f"[{n}×normalizer] normalizer service: first → last commit",
             f"{run['normalizer_rate']:,.0f} leads/s"),
            (f"[{n}×normalizer] normalizer backlog when the import ended", f"{run['backlog']:,} leads"),
            (f"[{n}×normalizer] end to end / target {TARGET:,}/s", f"{run['e2e_rate'] / TARGET:.2f}"
             + ("" if run["e2e_rate"] >= TARGET else "  (below target)")),
            (f"[{n}×normalizer] end to end / raw consume-produce baseline {baseline:,.0f}/s",
             f"{run['e2e_rate'] / baseline:.2f}"),
            (f"[{n}×normalizer] end to end: file → last outreach request committed (segmenter alongside)",
             f"{run['requests_rate']:,.0f} leads/s ({run['requests_seconds']:,.1f} s)"),
            (f"[{n}×normalizer] file → requests / target {REQUESTS_TARGET:,}/s",
             f"{run['requests_rate'] / REQUESTS_TARGET:.2f}"
             + ("" if run["requests_rate"] >= REQUESTS_TARGET else "  (below target)")),
            (f"[{n}×normalizer] CPU per lead: importer / normalizer(s) / segmenter / rest (broker…) = total",
             "{importer:,.0f} / {normalizers:,.0f} / {segmenter:,.0f} / {rest:,.0f} = {total:,.0f} µs".format(
                 **{part: seconds / run["published"] * 1e6 for part, seconds in run["cpu_seconds"].items()})),
            (f"[{n}×normalizer] CPU ceiling on {os.cpu_count()} cores: cores ÷ total CPU per lead",
             f"{os.cpu_count() * run['published'] / run['cpu_seconds']['total']:,.0f} leads/s"),
            (f"[{n}×normalizer] peak memory: importer / normalizer(s) / segmenter",
             f"{run['importer_rss']:,.0f} MB / " + ", ".join(f"{mb:,.0f}" for mb in run["normalizer_rss"])
             + f" / {run['segmenter_rss']:,.0f} MB"),
        ]
    for store, run in segmenters:
        out += [(f"segmenter ({store}): lead-normalized backlog → requests",
                 f"{run['rate']:,.0f} leads/s ({run['handled']:,} in {run['seconds']:,.0f} s"
                 + (")" if run["caught_up"] else f", stopped at the {segmenter_seconds:.0f} s cap)")),
                (f"segmenter ({store}): CPU per lead (its processes) / leads per CPU-second",
                 f"{run['cpu_us']:,.0f} µs / {1e6 / run['cpu_us']:,.0f}" if run["cpu_us"]
                 else "none measured: the backlog was handled while the group formed (a larger --rows measures it)"),
                (f"segmenter ({store}): CPU per lead by thread: handlers (main) / librdkafka's / others",
                 "{main:,.0f} / {librdkafka:,.0f} / {other:,.0f} µs".format(**run["threads_us"])),
                (f"segmenter ({store}): peak memory", f"{run['rss']:,.0f} MB")]
    for data, measured in in_process:
        out += [(f"segmenter in process ({data}; SQLite file, batches of {IN_PROCESS_BATCH}): leads/s",
                 " – ".join(f"{run['rate']:,.0f}" for run in sorted(measured, key=lambda run: run["rate"]))
                 + f" ({measured[0]['leads']:,} leads, {len(measured)} runs)"),
                (f"segmenter in process ({data}): CPU per lead / leads per CPU-second",
                 " – ".join(f"{run['cpu_us']:,.0f}" for run in sorted(measured, key=lambda run: run["cpu_us"]))
                 + " µs / " + " – ".join(f"{1e6 / run['cpu_us']:,.0f}"
                                          for run in sorted(measured, key=lambda run: -run["cpu_us"])))]
    table(f"2. lead pipeline: {rows:,} synthetic rows, {PARTITIONS} partitions", out,
          note="services as processes; peak memory = VmHWM (/proc), the importer's read every 0.2 s; "
               "the segmenter runs alone on the last run's backlog, from its start on each store")
