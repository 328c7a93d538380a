"""`make bench`: careflow's figures against a baseline measured on the same broker in the same run.

1. runtime     — transactional consume → produce: careflow's ServiceRunner with a no-op handler
                 against a plain confluent-kafka loop (eos-transactions style).
2. leads       — a synthetic list from file through the normalizer to `lead-normalized`, then the
                 segmenter's requests: rows/s, leads/s end to end and per service, peak memory.
3. eligibility — answered calls at a fixed rate to `profile-prompted`: p50/p99/max latency, then
                 the highest rate whose p99 stays under 50 ms, then 1,000/s; against the floor of
                 any exactly-once service on the broker, a plain transactional relay, at both rates.
4. console     — the operator console's funnel and worklist pages with 1,000,000 leads in PostgreSQL.
5. peers       — the normalizer against the same normalization as a quix-streams exactly-once
                 application and as a plain confluent-kafka transactional loop, same input, outputs
                 checked equal (needs the `bench` extra: pip install -e '.[bench]').
                 Rows: BENCH_PEERS_ROWS (default 200,000), rounds: BENCH_PEERS_ROUNDS (default 2).
6. instructions — CPU instructions an event in process (valgrind's callgrind, the same count in every
                 run): the runtime's no-op, the normalizer, the segmenter; against fastavro's decode
                 and encode of the same events.

One broker for the whole run (`broker_from_environment()`: KAFKA_BOOTSTRAP_SERVERS if set), a fresh
topic prefix and SQLite store per part. Examples:

    python -m tests.bench --only runtime --events 5000
    python -m tests.bench --only leads --rows 20000 --normalizers 1
    python -m tests.bench --only eligibility --seconds 10 --step-seconds 5
    python -m tests.bench --only console --console-leads 100000
    BENCH_PEERS_ROWS=20000 python -m tests.bench --only peers
    python -m tests.bench --only instructions
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("runtime", "leads", "eligibility", "console", "peers", "instructions"),
                        help="one part (default: all six)")
    parser.add_argument("--events", type=int, default=50_000, help="runtime: events to relay (default 50,000)")
    parser.add_argument("--repeats", type=int, default=2, help="runtime: alternating runs per side, best counts")
    parser.add_argument("--rows", type=int, default=1_000_000, help="leads: rows in the synthetic list")
    parser.add_argument("--normalizers", default="1,2", help="leads: normalizer instance counts to try (default 1,2)")
    parser.add_argument("--segmenter-seconds", type=float, default=120,
                        help="leads: at most this long for the segmenter to work through the backlog")
    parser.add_argument("--rate", type=int, default=200, help="eligibility: answered calls per second")
    parser.add_argument("--seconds", type=float, default=60, help="eligibility: how long at that rate")
    parser.add_argument("--warmup-seconds", type=float, default=60,
                        help="eligibility: first this long at the rate, not counted (the broker's JIT warms up)")
    parser.add_argument("--step-seconds", type=float, default=15, help="eligibility: how long at each higher rate")
    parser.add_argument("--max-rate", type=int, default=4000, help="eligibility: the highest rate to try")
    parser.add_argument("--subscribers", type=int, default=10_000, help="eligibility: subscribers in the directory")
    parser.add_argument("--batch-size", type=int, help="eligibility: the services' CAREFLOW_BATCH_SIZE (default 500)")
    parser.add_argument("--console-leads", type=int, default=1_000_000, help="console: leads in the store")
    parser.add_argument("--console-requests", type=int, default=40, help="console: requests per page")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (lists, service logs, stores)")
    args = parser.parse_args()

    # Services started as processes inherit this: their per-batch INFO logs would cost CPU we measure.
    os.environ.setdefault("CAREFLOW_LOG_LEVEL", "WARNING")
    logging.basicConfig(level=logging.WARNING)
    from shared.local.broker import broker_from_environment
    from tests.bench.common import console

    folder = tempfile.mkdtemp(prefix="careflow-bench-")
    workdir = Path(folder)
    started = time.perf_counter()
    # The console and instructions parts need no broker.
    needs_broker = args.only in (None, "runtime", "leads", "eligibility", "peers")
    with broker_from_environment() if needs_broker else contextlib.nullcontext() as bootstrap:
        console.print(f"broker {bootstrap}, work folder {workdir}" if needs_broker else f"work folder {workdir}")
        baseline = None
        if args.only in (None, "runtime"):
            from tests.bench.throughput import bench_runtime

            baseline = bench_runtime(bootstrap, workdir, args.events, args.repeats)
        if args.only in (None, "leads"):
            from tests.bench.leads import bench_leads

            counts = [int(n) for n in args.normalizers.split(",") if n.strip()]
            bench_leads(bootstrap, workdir, args.rows, counts, baseline, args.segmenter_seconds)
        if args.only in (None, "eligibility"):
            from tests.bench.latency import bench_eligibility

            bench_eligibility(bootstrap, workdir, args.rate, args.seconds, args.subscribers, args.step_seconds,
                              args.max_rate, args.warmup_seconds, args.batch_size)
        if args.only in (None, "peers"):
            from tests.bench.peers import bench_peers

            bench_peers(bootstrap, workdir, int(os.environ.get("BENCH_PEERS_ROWS", 200_000)),
                        int(os.environ.get("BENCH_PEERS_ROUNDS", 2)))
    if args.only in (None, "console"):
        from tests.bench.console import bench_console

        bench_console(args.console_leads, args.console_requests)
    if args.only in (None, "instructions"):
        from tests.bench.instructions import bench_instructions

        bench_instructions()
    console.print(f"bench done in {time.perf_counter() - started:,.0f} s")
    if args.keep:
        console.print(f"kept {workdir}")
    else:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
