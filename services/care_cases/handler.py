"""After-sales care cases (SPEC A8): supported customers raise requests; each becomes a case with
an owner and an SLA; a breached SLA escalates (BĐT → TCT, and again on a second breach); agents
update and resolve cases; a new request about a recently resolved matter reopens it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from shared.domain import care
from shared.service import Context, Rejected, Service
from shared.store import deadlines
from shared.store.models import CareCase, CareCustomer, Deadline
from shared.privacy import erasure

SLA_DEADLINE = "care_sla"


def on_customer_supported(event, ctx: Context) -> None:
    customer = ctx.session.get(CareCustomer, event.lead_id)
    if customer is None:
        ctx.session.add(CareCustomer(customer_id=event.lead_id, tax_code=event.tax_code,
                                     province_code=event.province_code, supported_at=ctx.now(), via=event.via))


def _customer(ctx: Context, customer_id: str) -> CareCustomer:
    """The supported customer a request names, by lead id or by tax code."""
    customer = ctx.session.get(CareCustomer, customer_id) or ctx.session.scalars(
        select(CareCustomer).where(CareCustomer.tax_code == customer_id)).first()
    if customer is None:
        raise Rejected(f"customer {customer_id} is not a supported customer of careflow: no care case can be opened")
    return customer


def on_care_requested(event, ctx: Context) -> None:
    customer = _customer(ctx, event.customer_id)
    now, policy = ctx.now(), ctx.policies.care
    reopenable = ctx.session.scalars(
        select(CareCase).where(CareCase.customer_id == customer.customer_id, CareCase.kind == event.kind,
                               CareCase.status == care.CaseStatus.RESOLVED.value)
        .order_by(CareCase.resolved_at.desc())).first()
    resolved = _load(reopenable) if reopenable is not None else None
    if resolved is not None and care.should_reopen(resolved, event.kind, now, policy):
        row, before, case = reopenable, resolved, care.reopen(resolved, now, policy)
    else:
        case = care.open_case(f"case-{event.request_id}", customer.customer_id, event.kind, customer.province_code,
                              now, policy)
        row, before = CareCase(case_id=case.case_id, customer_id=case.customer_id, kind=case.kind.value,
                               province_code=case.province_code, opened_at=case.opened_at, breaches=0), None
    _save(ctx, row, before, case)
    ctx.session.add(row)
    ctx.emit("care-case-opened", **care.opened_payload(case, event.request_id))


def on_care_case_updated(event, ctx: Context) -> None:
    row, before = _case(ctx, event.case_id, event.customer_id)
    now, case = ctx.now(), before
    if event.update == "assigned":
        if not event.agent_id:
            raise Rejected(f"case {event.case_id}: an assignment needs the agent_id")
        case = care.assign(case, event.agent_id)
    elif event.update == "waiting_on_customer":
        case = care.pause(case, now)
    elif event.update == "resumed":
        case = care.resume(case, now)
    escalation = None
    if event.escalate:
        escalated = care.escalate(case, now, ctx.policies.care)
        if escalated is None:
            raise Rejected(f"case {event.case_id} is {case.status.value}: only an open case can be escalated")
        case, escalation = escalated
    _save(ctx, row, before, case)
    if escalation is not None:
        ctx.emit("care-case-escalated", **care.escalated_payload(case, escalation))


def on_care_case_resolved(event, ctx: Context) -> None:
    row, before = _case(ctx, event.case_id, event.customer_id)
    _save(ctx, row, before, care.resolve(before, ctx.now(), event.outcome, event.resolution))


def on_sla_due(deadline: Deadline, ctx: Context) -> None:
    row = ctx.session.get(CareCase, deadline.subject_id)
    due = dt.datetime.fromisoformat(deadline.payload["due"])
    before = _load(row)
    breached = care.breach(before, ctx.now(), ctx.policies.care, deadline=due)
    if breached is None:  # paused, resolved or moved since the deadline was set
        return
    case, escalation = breached
    row.breaches += 1
    _save(ctx, row, before, case)
    ctx.emit("care-case-escalated", **care.escalated_payload(case, escalation))


def _case(ctx: Context, case_id: str, customer_id: str) -> tuple[CareCase, care.CareCase]:
    row = ctx.session.get(CareCase, case_id)
    if row is None or row.customer_id != customer_id:
        raise Rejected(f"no care case {case_id} for customer {customer_id}")
    return row, _load(row)


def _load(row: CareCase) -> care.CareCase:
    return care.case_from_dict(row.state)


def _sla_deadline_id(case: care.CareCase) -> str | None:
    return f"care-sla:{case.case_id}:{case.sla_due_at.isoformat()}" if case.sla_due_at else None


def _save(ctx: Context, row: CareCase, before: care.CareCase | None, case: care.CareCase) -> None:
    """Writes the case (`before`: as it was stored, None when new) and keeps exactly one pending
    SLA deadline: the one of its running clock."""
    old_id, new_id = (_sla_deadline_id(before) if before else None), _sla_deadline_id(case)
    if case.status is care.CaseStatus.RESOLVED:
        new_id = None
    if old_id and old_id != new_id:
        deadlines.cancel(ctx.session, old_id, ctx.now())
    if new_id and new_id != old_id:
        deadlines.schedule(ctx.session, new_id, SLA_DEADLINE, case.case_id, case.sla_due_at,
                           {"due": case.sla_due_at.isoformat()})
    row.state = care.case_to_dict(case)
    row.status, row.owner, row.level = case.status.value, case.owner, case.level
    row.resolved_at = case.resolved_at


SERVICE = Service(name="care-cases", emits=("care-case-opened", "care-case-escalated"), handlers={
    "customer-supported": on_customer_supported, "care-requested": on_care_requested,
    "care-case-updated": on_care_case_updated, "care-case-resolved": on_care_case_resolved,
    "subject-erasure-requested": erasure.handler("care_cases", "care_customers")},
    deadline_handlers={SLA_DEADLINE: on_sla_due})
