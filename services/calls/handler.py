"""Call outcomes (SPEC A6): each ended call to a lead decides what follows — the customer is
supported, the next call (another attempt, the landline, a call back at the asked time), or the
post office of the province takes the lead over. An inbound hotline call is matched to its lead
by careflow's lead id, the tax code the agent typed, or the caller's number."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from shared.domain.calls import Disposition, Escalate, Supported, next_step
from shared.domain.contact_rules import Blocked
from shared.domain.lifecycle import Happening
from shared.domain.matching import Unmatched, match_inbound
from shared.domain.phones import normalize_phone
from shared.domain.tax_codes import normalize_tax_code
from shared.outreach import announcements, lifecycle, requests
from shared.service import Context, Service
from shared.store.models import CallTask, Contact, LeadStateRow, OutreachLead, OutreachRequest, UnmatchedCall
from shared.privacy import erasure


def on_call_ended(event, ctx: Context) -> None:
    if event.do_not_call and (phone := normalize_phone(event.number)):
        requests.withdraw(ctx, phone.e164, "phone", "call", "call-ended",
                          f"call {event.call_id}: the customer asked not to be called again", ctx.now())
    if event.subject_type != "lead":
        return  # profile call-backs belong to the call centre, not to the outreach funnel
    # "Do not call me again" ends the consultation whatever the agent picked as disposition.
    disposition = Disposition.REFUSED if event.do_not_call else Disposition(event.disposition)
    if event.direction == "inbound_hotline":
        lead_id = _inbound_lead(event, ctx)
        if lead_id and disposition in (Disposition.AGENT_RESOLVED, Disposition.RIGHT_PERSON):
            announcements.supported(ctx, lead_id, "hotline")
        return
    task = ctx.session.get(CallTask, event.subject_id)
    attempt = task.attempt if task is not None and task.number == event.number else 1
    if task is not None:
        task.last_disposition, task.updated_at = disposition.value, ctx.now()
    if disposition is Disposition.INVALID_NUMBER and (contact := ctx.session.get(Contact, (event.subject_id, event.number))):
        contact.dead = True
    numbers = requests.dial_numbers(ctx, event.subject_id)
    while True:
        step = next_step(numbers, event.number, attempt, disposition, ctx.now(), event.callback_at, ctx.policies.calls,
                         called=_called_numbers(ctx, event.subject_id))
        if not isinstance(step, Supported) and not lifecycle.allowed(
                lifecycle.move(ctx, event.subject_id, Happening.OUTREACH_STARTED)):
            return  # the lead moved on (supported on the hotline, escalated): no more calls from careflow
        if isinstance(step, Supported):
            announcements.supported(ctx, event.subject_id, "call")
            return
        if isinstance(step, Escalate):
            announcements.escalate(ctx, event.subject_id, step.reason, step.detail)
            return
        decision = requests.request_call(ctx, event.subject_id, step.number, step.attempt, step.reason, step.not_before)
        if not isinstance(decision, Blocked):
            return
        # The rules forbid that number (Do-Not-Call, no consent): treat it as unusable and go on.
        numbers = [dataclasses.replace(n, dead=True) if n.e164 == step.number else n for n in numbers]
        if step.number == event.number:
            disposition = Disposition.INVALID_NUMBER


def _called_numbers(ctx: Context, lead_id: str) -> frozenset[str]:
    """Every number careflow asked the telephony platform to call for this lead."""
    return frozenset(ctx.session.scalars(select(OutreachRequest.contact).where(
        OutreachRequest.lead_id == lead_id, OutreachRequest.channel == "call")))


def _inbound_lead(event, ctx: Context) -> str | None:
    """The lead an inbound call is about; None, recorded for operators, when no lead or several match."""
    given = event.subject_id.strip() or None
    known = given is not None and (ctx.session.get(LeadStateRow, given) or ctx.session.get(OutreachLead, given))
    tax_code, valid = normalize_tax_code(event.tax_code)
    phone = normalize_phone(event.number)
    match = match_inbound(
        given, bool(known),
        list(ctx.session.scalars(select(OutreachLead.lead_id).where(OutreachLead.tax_code == tax_code))) if valid else [],
        list(ctx.session.scalars(select(Contact.lead_id).where(Contact.value == phone.e164))) if phone else [])
    if isinstance(match, Unmatched):
        number = phone.e164 if phone else event.number
        ctx.session.merge(UnmatchedCall(call_id=event.call_id, reason=match.reason, number=number,
                                        tax_code=tax_code, candidates=list(match.candidates),
                                        disposition=event.disposition, received_at=ctx.now()))
        return None
    return match.lead_id


SERVICE = Service(name="calls", emits=("call-requested", "customer-supported", "lead-escalated", "consent-changed"), handlers={
    "call-ended": on_call_ended,
    "subject-erasure-requested": erasure.handler("contacts", "outreach_requests", "call_tasks", "unmatched_calls")})
