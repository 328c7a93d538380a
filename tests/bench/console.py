"""The console with a million leads in PostgreSQL: p50/p95 page time of the funnel dashboard
(unfiltered and for one province), a post office's worklist and a lead's page.

The store is filled directly (COPY) for this bench only: leads over the 34 provinces, one in 20
escalated to its post office, an outreach request per lead on average."""

from __future__ import annotations

import datetime as dt
import io
import random
import statistics
import time

from tests.bench.common import console, table



def _codes() -> list[str]:
    from shared.domain.provinces import PROVINCE_CODES

    return sorted(PROVINCE_CODES)


def fill(url: str, leads: int) -> None:
    import psycopg

    codes = _codes()
    rng = random.Random(14)
    start = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    stages = ("normalized", "in_outreach", "in_outreach", "supported", "escalated")
    lists = ("callable", "callable", "email_only", "insufficient")
    lead_rows, escalation_rows, request_rows = io.StringIO(), io.StringIO(), io.StringIO()
    for n in range(leads):
        province = codes[n % len(codes)]
        at = (start + dt.timedelta(seconds=n * 2)).isoformat()
        stage = "escalated" if n % 20 == 0 else rng.choice(stages[:4])
        lead_id = f"mst:{n:010d}"
        lead_rows.write(f"{lead_id}\t{n:010d}\tt\tCông ty số {n}\t{province}\t\\N\tlist-{n % 10}.csv\t{stage}\t"
                        f"{rng.choice(lists)}\tt\tt\tf\t{n % 3}\t{at}\t{at}\n")
        if stage == "escalated":
            escalation_rows.write(f"{lead_id}\tBDT-{province}\t{province}\tunreachable\t\\N\t{at}\t\\N\t\\N\t\\N\n")
        if n % 2 == 0:
            for channel in ("sms", "call"):
                request_rows.write(f"r{channel}{n}\t{lead_id}\t{channel}\t+8491{n:07d}\tt\t{at}\n")
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as connection:
        with connection.cursor() as cursor:
            for name, columns, data in (
                    ("leads", "lead_id, tax_code, tax_code_valid, company_name, province_code, bhxh_unit_code, source, "
                              "stage, outreach_list, has_email, has_mobile, has_landline, calls, imported_at, updated_at",
                     lead_rows),
                    ("escalations", "lead_id, owner, province_code, reason, detail, escalated_at, returned_by, outcome, "
                                    "closed_at", escalation_rows),
                    ("outreach_requests", "request_id, lead_id, channel, contact, marketing, send_at", request_rows)):
                with cursor.copy(f"COPY {name} ({columns}) FROM STDIN") as copy:
                    copy.write(data.getvalue())
        connection.execute("ANALYZE")


def timed(client, path: str, repeats: int) -> tuple[float, list[float]]:
    """The first request's time (the funnel counts then), and each of `repeats` more."""
    started = time.perf_counter()
    client.get(path)
    first = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return first, times


def bench_console(leads: int, repeats: int) -> None:
    from argon2 import PasswordHasher, profiles

    from shared.console import access
    from shared.store import migrate, session_factory
    from tests.console_support import PASSWORD, console_app, signed_in
    from tests.postgres import fresh_database, postgres_bindir, throwaway_postgres

    access._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    with throwaway_postgres(postgres_bindir()) as server:
        url = fresh_database(server)
        migrate(url)
        started = time.perf_counter()
        fill(url, leads)
        console.print(f"{leads:,} leads in PostgreSQL in {time.perf_counter() - started:,.0f} s")
        now = dt.datetime(2026, 4, 1, tzinfo=dt.timezone.utc)
        with session_factory(url)() as session:
            access.add_user(session, "tct", "tct_supervisor", PASSWORD, None, now)
            access.add_user(session, "bdt01", "bdt_staff", PASSWORD, "BDT-01", now)
            session.commit()

        def refuse(event_type, **fields):
            raise AssertionError("the bench only reads")

        app = console_app(url, refuse, now=lambda: now)
        tct, bdt01 = signed_in(app, "tct"), signed_in(app, "bdt01")
        rows = []
        for name, client, path in (("funnel, every province", tct, "/funnel"),
                                   ("funnel, one province", tct, "/funnel?province=01"),
                                   ("funnel, one list and dates", tct, "/funnel?source=list-3.csv&since=01/03/2026&until=05/03/2026"),
                                   ("BĐT worklist (first page)", bdt01, "/leads"),
                                   ("a lead's page", bdt01, "/leads/mst:0000000000")):
            first, times = timed(client, path, repeats)
            times.sort()
            p95 = times[max(0, round(len(times) * 0.95) - 1)]
            rows.append((name, f"first {first:,.0f} ms · p50 {statistics.median(times):,.0f} ms · p95 {p95:,.0f} ms"))
        table(f"console pages, {leads:,} leads (PostgreSQL, TestClient, {repeats} requests each)", rows,
              "target: p95 ≤ 300 ms; the funnel's counts are kept 30 s (the first request counts)")
