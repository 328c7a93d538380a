"""Part 6: the CPU instructions an event costs in process (no broker), counted by valgrind's callgrind.

A timing on this shared 2-core machine moves by a third from run to run; a count of instructions is
the same in every run within ~0.2 %, so it shows a change of a few per cent that timings hide. Each
workload runs in a child process under callgrind twice, once with no pass over its events and once
with two; the difference over the events handled is its count an event (start-up, imports and setup
cancel out). Baseline in the same run: what the no-op service's events cost through fastavro alone —
lead-imported read, lead-escalated written — the least any Python consumer of the contract pays.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.bench.common import console, table

PASSES = 2
LIST_ROWS = 1_000  # the lead workloads' rows (the normalizer drops ~7 % of them as not leads)
NOOP_EVENTS = 2_000

WORKLOADS = {
    "codec": "baseline: fastavro, lead-imported read and lead-escalated written",
    "runtime": "runtime, no-op handler (decode, handler, emit)",
    "normalizer": "normalizer, a lead",
    "segmenter": "segmenter on SQLite, a lead (no consent, as the pipeline)",
    "segmenter-consenting": "segmenter on SQLite, a lead (a third of contacts consenting)",
}


def _noop_records() -> list:
    from shared.contract import build_event, encode, envelope
    from tests.bench.noop_service import lead_fields
    from tests.handlers import Record

    records = []
    for i in range(NOOP_EVENTS):
        event = build_event("lead-imported", envelope("lead-imported", "bench"), **lead_fields(i))
        records.append(Record("lead-imported", encode("lead-imported", event), event.lead_id.encode()))
    return records


def _prepare(workload: str, workdir: Path) -> tuple[Callable[[int], None], int]:
    """What one pass over the workload's events does (given the pass's number), and how many events a pass handles."""
    from tests.bench import leads

    if workload in ("codec", "runtime"):
        from shared.clock import utc_now

        records = _noop_records()
        if workload == "runtime":
            from shared.config import Policies, Settings
            from shared.runner.batch import BatchHandler
            from tests.bench.noop_service import SERVICE

            settings = Settings()
            handler = BatchHandler(SERVICE, settings, Policies(settings), utc_now, None)
            handler.handle(records[:leads.IN_PROCESS_BATCH])  # warmed: caches and the metric's children made
            return lambda _: [handler.handle(batch) for batch in leads.batches(records)], len(records)
        import fastavro

        from shared.contract import contract
        from shared.contract.codec import HEADER_LENGTH

        imported, escalated = contract("lead-imported"), contract("lead-escalated")

        def codec_pass(_: int) -> None:
            for record in records:
                event = fastavro.schemaless_reader(io.BytesIO(record.value()[HEADER_LENGTH:]), imported.parsed)
                envelope = dict(event["envelope"], event_type="lead-escalated", occurred_at=utc_now())
                fastavro.schemaless_writer(io.BytesIO(), escalated.parsed, {
                    "envelope": envelope, "lead_id": event["lead_id"], "owner": "TCT", "reason": "not_found",
                    "detail": None, "province_code": None})
        return codec_pass, len(records)
    path = workdir / "list.csv"
    leads.write_list(path, LIST_ROWS)
    imported, normalized, consents = leads.in_process_events(workdir, path, LIST_ROWS)
    if workload == "normalizer":
        handler = leads.in_process_handler("normalizer", f"sqlite:///{workdir / 'normalizer.db'}")
        return lambda _: [handler.handle(batch) for batch in leads.batches(imported)], len(imported)
    # A fresh store for each pass, made before counting begins (as are its consents).
    handlers = [leads.in_process_handler("segmenter", f"sqlite:///{workdir / f'segmenter-{n}.db'}")
                for n in range(PASSES)]
    if workload == "segmenter-consenting":
        for handler in handlers:
            for batch in leads.batches(consents):
                handler.handle(batch)
    return lambda n: [handlers[n].handle(batch) for batch in leads.batches(normalized)], len(normalized)


def child(workload: str, passes: int) -> None:
    """The workload in this process: set up, then `passes` passes (run under callgrind by `count`)."""
    from shared.runner.loop import freeze_loaded
    from tests.bench import leads

    workdir = Path(tempfile.mkdtemp(prefix="careflow-instructions-"))
    try:
        run, events = _prepare(workload, workdir)
        freeze_loaded(leads.IN_PROCESS_BATCH)  # as a service does after start-up
        for n in range(passes):
            run(n)
        print(events)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _instructions(workload: str, passes: int) -> tuple[int, int]:
    """The instructions the child executed, and the events a pass handled."""
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-m",
                           "tests.bench.instructions", workload, str(passes)],
                          env={**os.environ, "PYTHONHASHSEED": "0", "CAREFLOW_LOG_LEVEL": "WARNING"},
                          capture_output=True, text=True, check=True)
    collected = re.search(r"Collected : (\d+)", done.stderr)
    if collected is None:
        raise RuntimeError(f"callgrind printed no count for {workload}: {done.stderr[-500:]}")
    return int(collected.group(1)), int(done.stdout.split()[-1])


def count(workload: str) -> float:
    """The workload's instructions an event: its children with no pass and with PASSES, side by side."""
    with ThreadPoolExecutor(2) as pool:
        without, with_passes = pool.map(lambda passes: _instructions(workload, passes), (0, PASSES))
    return (with_passes[0] - without[0]) / (PASSES * with_passes[1])


def bench_instructions() -> None:
    if shutil.which("valgrind") is None:
        console.print("[yellow]instructions: valgrind is not installed (Debian's package valgrind): part skipped[/]")
        return
    counts = {}
    for workload, label in WORKLOADS.items():
        counts[workload] = count(workload)
        console.print(f"  instructions: {label}: {counts[workload]:,.0f} an event")
    baseline = counts["codec"]
    table("6. instructions an event, in process (callgrind; ±0.2 % between runs)", [
        *((label, f"{counts[workload]:,.0f}" + ("" if workload == "codec" else f"  ({counts[workload] / baseline:.1f}× "
                                                                                 "the baseline)"))
          for workload, label in WORKLOADS.items()),
    ], note="the no-op's events are the baseline's; the lead workloads take the bench list's first "
            f"{LIST_ROWS:,} rows in batches of 500")


if __name__ == "__main__":
    child(sys.argv[1], int(sys.argv[2]))
