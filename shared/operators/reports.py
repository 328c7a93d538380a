"""Operator reports read from the store: the outreach funnel, profile enrichment, care cases.

Each report is a plain dict (for `--json` and tests) that `render` turns into rich tables.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.domain.provinces import province_name
from shared.store.models import (BlockedRequest, CareCase, Escalation, Lead, LifecycleRefusal, OutreachRequest,
                                 ProfileDecision, ProfileCallback, Subscriber, UnmatchedCall)

NO_PROVINCE = "??"


def _province(code: str | None) -> str:
    """"48 Đà Nẵng": operators read names, machines split on the first space."""
    return NO_PROVINCE if code is None else f"{code} {province_name(code)}"


@dataclass(frozen=True)
class FunnelFilter:
    """Which leads a funnel counts: one imported list (its file name), an import period, a province."""

    source: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    province: str | None = None

    def apply(self, query, lead=Lead):
        if self.source:
            query = query.where(lead.source == self.source)
        if self.since:
            query = query.where(lead.imported_at >= self.since)
        if self.until:
            query = query.where(lead.imported_at < self.until)
        if self.province:
            query = query.where(lead.province_code == self.province)
        return query


def funnel(session: Session, where: FunnelFilter = FunnelFilter()) -> dict:
    """Counted in the database (grouped), so that a million leads are one scan, not a million rows."""
    called = func.count().filter(Lead.calls > 0)
    rows = session.execute(where.apply(select(Lead.province_code, Lead.stage, Lead.outreach_list, called,
                                              func.count()))
                           .group_by(Lead.province_code, Lead.stage, Lead.outreach_list)).all()
    requested = session.execute(where.apply(select(OutreachRequest.channel, Lead.province_code,
                                                   func.count(func.distinct(OutreachRequest.lead_id)))
                                            .join(Lead, Lead.lead_id == OutreachRequest.lead_id))
                                .group_by(OutreachRequest.channel, Lead.province_code)).all()
    escalated = session.execute(where.apply(select(Escalation.owner, Escalation.province_code, func.count())
                                            .join(Lead, Lead.lead_id == Escalation.lead_id, isouter=True))
                                .group_by(Escalation.owner, Escalation.province_code)).all()

    def empty() -> Counter:
        return Counter()

    by_province: dict[str, Counter] = defaultdict(empty)
    for province, stage, outreach_list, calls, count in rows:
        for key in (_province(province), "all"):
            counts = by_province[key]
            counts["imported"] += count
            counts["normalized"] += count if outreach_list is not None else 0
            if outreach_list:
                counts[f"list:{outreach_list}"] += count
            counts["called"] += calls or 0
            counts["supported"] += count if stage == "supported" else 0
            counts["in_outreach"] += count if stage == "in_outreach" else 0
    for channel, province, count in requested:
        for key in (_province(province), "all"):
            by_province[key][f"requested:{channel}"] += count
    owners: Counter = Counter()
    for owner, province, count in escalated:
        owners[owner] += count
        for key in (_province(province), "all"):
            by_province[key]["escalated"] += count
    overall = by_province.pop("all", Counter())
    blocked = session.execute(where.apply(select(BlockedRequest.reason, BlockedRequest.channel, func.count())
                                          .join(Lead, Lead.lead_id == BlockedRequest.lead_id, isouter=True))
                              .group_by(BlockedRequest.reason, BlockedRequest.channel)).all()
    by_reason, by_channel = Counter(), Counter()
    for reason, channel, count in blocked:
        by_reason[reason] += count
        by_channel[channel] += count
    refused = session.execute(select(LifecycleRefusal.happening, LifecycleRefusal.stage, func.count())
                              .group_by(LifecycleRefusal.happening, LifecycleRefusal.stage)).all()
    return {"overall": dict(overall), "escalated_by_owner": dict(sorted(owners.items())),
            "by_province": {p: dict(c) for p, c in sorted(by_province.items())},
            # Requests the contact rules refused, or put off to the permitted hours ("hours").
            "blocked_by_reason": _largest_first(by_reason), "blocked_by_channel": _largest_first(by_channel),
            # Moves the lifecycle refused (escalating a supported lead, ...): not applied, listed for operators.
            "refused_moves": {f"{happening} in {stage}": count for happening, stage, count in sorted(refused)},
            # Inbound hotline calls tied to no lead, or to several: for operators to resolve.
            "unmatched_calls": dict(session.execute(select(UnmatchedCall.reason, func.count())
                                                    .group_by(UnmatchedCall.reason)).all())}


def _largest_first(counts: Counter) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def profiles(session: Session) -> dict:
    subscribers = session.execute(select(Subscriber.gender, Subscriber.gender_provenance, Subscriber.occupation,
                                         Subscriber.occupation_provenance, Subscriber.hobbies,
                                         Subscriber.hobbies_provenance)).all()
    total = len(subscribers)
    completion, provenance = {}, {}
    for index, name in enumerate(("gender", "occupation", "hobbies")):
        filled = [row for row in subscribers if row[index * 2]]
        completion[name] = round(len(filled) / total, 4) if total else 0.0
        provenance[name] = dict(Counter(row[index * 2 + 1] or "unknown" for row in filled))
    complete = sum(all(row[i] for i in (0, 2, 4)) for row in subscribers)
    decisions = session.execute(select(ProfileDecision.channel, ProfileDecision.prompted,
                                       ProfileDecision.skip_reasons)).all()
    per_channel: dict[str, Counter] = defaultdict(Counter)
    for channel, prompted, reasons in decisions:
        per_channel[channel]["prompted" if prompted else "skipped"] += 1
        for reason in reasons or ():
            per_channel[channel][f"skip:{reason}"] += 1
    callbacks = Counter()
    for closed, disposition, missing in session.execute(select(
            ProfileCallback.closed_at, ProfileCallback.disposition, ProfileCallback.missing_fields)):
        if closed is None:
            callbacks["open"] += 1
            for name in missing or ():
                callbacks[f"open, {name} missing"] += 1
        else:
            callbacks[f"done: {disposition}"] += 1
    return {"subscribers": total, "complete_profiles": complete, "completion": completion,
            "provenance": provenance, "calls": {c: dict(v) for c, v in sorted(per_channel.items())},
            "call_backs": dict(sorted(callbacks.items()))}


def cases(session: Session, now: dt.datetime) -> dict:
    rows = session.scalars(select(CareCase)).all()
    open_cases: Counter = Counter()
    ages: dict[str, list[float]] = defaultdict(list)
    resolve_hours: dict[str, list[float]] = defaultdict(list)
    resolve_hours_province: dict[str, list[float]] = defaultdict(list)
    breaches = Counter()
    for case in rows:
        if case.breaches:
            breaches[case.kind] += case.breaches
        if case.status != "resolved":
            open_cases[f"{case.kind} / {case.owner}"] += 1
            ages[case.kind].append((now - case.opened_at).total_seconds() / 3600)
        elif case.resolved_at is not None:
            hours = (case.resolved_at - case.opened_at).total_seconds() / 3600
            resolve_hours[case.kind].append(hours)
            resolve_hours_province[_province(case.province_code)].append(hours)
    return {
        "open_by_kind_and_owner": dict(sorted(open_cases.items())),
        "open_oldest_hours_by_kind": {k: round(max(v), 1) for k, v in sorted(ages.items())},
        "sla_breaches_by_kind": dict(sorted(breaches.items())),
        "median_hours_to_resolve_by_kind": {k: round(statistics.median(v), 2) for k, v in sorted(resolve_hours.items())},
        "median_hours_to_resolve_by_province": {k: round(statistics.median(v), 2)
                                                for k, v in sorted(resolve_hours_province.items())},
    }


def render(title: str, report: dict, console: Console | None = None) -> None:
    """Prints a report: each flat mapping as a two-column table, each nested one as a grid, split
    into as many grids as it takes for every column to fit the terminal whole."""
    console = console or Console()
    console.rule(f"[bold]{title}")
    for section, value in report.items():
        if not isinstance(value, dict):
            console.print(f"{section}: [bold]{value}")
        elif value and all(isinstance(v, dict) for v in value.values()):
            columns = sorted({c for v in value.values() for c in v})
            rows = {row: [str(counts.get(c, 0)) for c in columns] for row, counts in value.items()}
            for part, chunk in enumerate(_fitting(console.width, list(rows), columns, rows)):
                # As wide as its title at least: rich wraps a title to its table's width.
                table = Table(title=section if part == 0 else None, show_lines=False, min_width=len(section))
                table.add_column("", no_wrap=True)
                for column in chunk:
                    table.add_column(columns[column], justify="right", no_wrap=True)
                for row, cells in rows.items():
                    table.add_row(row, *(cells[column] for column in chunk))
                console.print(table)
        else:
            table = Table(title=section, min_width=len(section))
            table.add_column("")
            table.add_column("", justify="right")
            for key, count in value.items():
                table.add_row(str(key), str(count))
            console.print(table)


def _fitting(width: int, labels: list[str], columns: list[str], rows: dict[str, list[str]]) -> list[list[int]]:
    """Column indexes in groups, each group fitting `width` beside the row labels (a table's
    border and padding take 3 characters a column)."""
    label = max((len(text) for text in labels), default=0) + 4
    groups: list[list[int]] = [[]]
    used = label
    for index, name in enumerate(columns):
        needed = max([len(name), *(len(cells[index]) for cells in rows.values())]) + 3
        if groups[-1] and used + needed > width:
            groups.append([])
            used = label
        groups[-1].append(index)
        used += needed
    return groups
