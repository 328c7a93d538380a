"""What the console reads from the store: worklists, a lead's or a customer's timeline, the care
desk, the funnel's trends. Reads only; the console's writes are events (and its own audit log)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.operators.reports import FunnelFilter
from shared.store.models import (CallTask, CareCase, CareCustomer, ConsentEvidence, ConsoleAudit, Contact, Escalation,
                                 Lead, OutreachRequest)

PAGE_SIZE = 50


def worklist(session: Session, owner: str, page: int = 0) -> tuple[list[tuple[Escalation, Lead | None]], int]:
    """The open escalations of `owner` (BDT-24, TCT), oldest first, a page of them and how many in all."""
    open_ = (Escalation.owner == owner, Escalation.closed_at.is_(None))
    total = session.scalar(select(func.count()).select_from(Escalation).where(*open_))
    rows = session.execute(select(Escalation, Lead).join(Lead, Lead.lead_id == Escalation.lead_id, isouter=True)
                           .where(*open_).order_by(Escalation.escalated_at, Escalation.lead_id)
                           .offset(page * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return [(e, lead) for e, lead in rows], total


@dataclass(frozen=True)
class Moment:
    """One line of a timeline: when, what (a message id the templates translate), details."""

    at: dt.datetime
    what: str
    detail: str = ""
    contact: str | None = None


def lead_timeline(session: Session, lead_id: str) -> list[Moment]:
    """Every trace the services left of a lead: import, requests by channel, calls, escalation,
    support, care, consent changes of its contacts, and what console users did."""
    moments: list[Moment] = []
    lead = session.get(Lead, lead_id)
    if lead is not None:
        moments.append(Moment(lead.imported_at, "imported", lead.source or ""))
    for request in session.scalars(select(OutreachRequest).where(OutreachRequest.lead_id == lead_id)):
        moments.append(Moment(request.send_at, f"requested:{request.channel}",
                              "marketing" if request.marketing else "service", request.contact))
    task = session.get(CallTask, lead_id)
    if task is not None:
        moments.append(Moment(task.updated_at, "calls", f"{task.status} · {task.attempt} · {task.last_disposition or ''}",
                              task.number))
    escalation = session.get(Escalation, lead_id)
    if escalation is not None:
        moments.append(Moment(escalation.escalated_at, "escalated",
                              f"{escalation.owner} · {escalation.reason} · {escalation.detail or ''}"))
        if escalation.closed_at is not None:
            moments.append(Moment(escalation.closed_at, "worked", escalation.outcome or ""))
    customer = session.get(CareCustomer, lead_id)
    if customer is not None:
        moments.append(Moment(customer.supported_at, "supported", customer.via))
    moments += _care_moments(session, lead_id)
    contacts = [c.value for c in session.scalars(select(Contact).where(Contact.lead_id == lead_id))]
    if contacts:
        for change in session.scalars(select(ConsentEvidence).where(ConsentEvidence.contact.in_(contacts))):
            moments.append(Moment(change.changed_at, "consent", f"{change.channel} · {change.status}", change.contact))
    moments += _console_moments(session, lead_id)
    return sorted(moments, key=lambda m: m.at)


def customer_timeline(session: Session, customer_id: str) -> list[Moment]:
    """Outreach and care of one customer (a supported lead) in one timeline."""
    return lead_timeline(session, customer_id)


def _care_moments(session: Session, customer_id: str) -> list[Moment]:
    moments = []
    for case in session.scalars(select(CareCase).where(CareCase.customer_id == customer_id)):
        moments.append(Moment(case.opened_at, "case_opened", f"{case.case_id} · {case.kind} · {case.owner}"))
        if case.resolved_at is not None:
            moments.append(Moment(case.resolved_at, "case_resolved",
                                  f"{case.case_id} · {case.state.get('outcome') or ''} · {case.state.get('resolution') or ''}"))
        moments += _console_moments(session, case.case_id)
    return moments


def _console_moments(session: Session, subject: str) -> list[Moment]:
    return [Moment(row.at, "console", f"{row.username} · {row.action} · {row.detail or ''}")
            for row in session.scalars(select(ConsoleAudit).where(ConsoleAudit.subject == subject,
                                                                   ConsoleAudit.result == "done"))]


def contacts(session: Session, lead_id: str) -> list[Contact]:
    return list(session.scalars(select(Contact).where(Contact.lead_id == lead_id).order_by(Contact.position)))


def care_desk(session: Session, owner: str | None = None, kind: str | None = None) -> list[CareCase]:
    """Open cases (not resolved), breached first, then by SLA due time; paused ones last."""
    query = select(CareCase).where(CareCase.status != "resolved")
    if owner:
        query = query.where(CareCase.owner == owner)
    if kind:
        query = query.where(CareCase.kind == kind)
    cases = list(session.scalars(query.limit(500)))
    return sorted(cases, key=lambda c: (c.state.get("sla_due_at") is None, c.state.get("sla_due_at") or ""))


def care_owners(session: Session) -> list[str]:
    return list(session.scalars(select(CareCase.owner).where(CareCase.status != "resolved").distinct()
                                .order_by(CareCase.owner)))


def trend(session: Session, where: FunnelFilter) -> dict[str, dict[str, int]]:
    """Per day (UTC): leads imported, and customers supported among them."""
    day = func.date(Lead.imported_at)
    imported = session.execute(where.apply(select(day, func.count())).group_by(day).order_by(day)).all()
    supported_day = func.date(CareCustomer.supported_at)
    supported = session.execute(where.apply(select(supported_day, func.count())
                                            .join(Lead, Lead.lead_id == CareCustomer.customer_id))
                                .group_by(supported_day)).all()
    days: dict[str, dict[str, int]] = {}
    for when, count in imported:
        days.setdefault(str(when), {"imported": 0, "supported": 0})["imported"] = count
    for when, count in supported:
        days.setdefault(str(when), {"imported": 0, "supported": 0})["supported"] = count
    return dict(sorted(days.items()))


def by_list(session: Session, where: FunnelFilter, limit: int = 50) -> list[tuple]:
    """Per imported list (file name), the largest first: imported, normalized, supported, escalated, closed as inactive."""
    stage = Lead.stage
    rows = session.execute(where.apply(select(
        Lead.source, func.count(), func.count().filter(Lead.outreach_list.is_not(None)),
        func.count().filter(stage == "supported"), func.count().filter(stage == "escalated"),
        func.count().filter(stage == "closed_inactive"))).group_by(Lead.source).order_by(func.count().desc()).limit(limit))
    return [tuple(row) for row in rows]


def sources(session: Session) -> list[str]:
    """The imported lists (file names), for the funnel's filter."""
    return [s for s in session.scalars(select(Lead.source).where(Lead.source.is_not(None)).distinct().limit(200))]


def escalation_reasons(session: Session, where: FunnelFilter) -> dict[str, int]:
    """Why leads were escalated; `unreachable` ones are those the contact rules blocked everywhere."""
    rows = session.execute(where.apply(select(Escalation.reason, func.count())
                                       .join(Lead, Lead.lead_id == Escalation.lead_id, isouter=True))
                           .group_by(Escalation.reason)).all()
    return dict(sorted(rows))


def audit_log(session: Session, username: str | None = None, limit: int = 200) -> list[ConsoleAudit]:
    query = select(ConsoleAudit).order_by(ConsoleAudit.at.desc(), ConsoleAudit.audit_id.desc()).limit(limit)
    if username:
        query = query.where(ConsoleAudit.username == username)
    return list(session.scalars(query))
