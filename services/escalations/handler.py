"""Escalations (SPEC A2, A6, A7): who owns each lead careflow could not serve itself — the post
office of its province (BDT-<code>) or the head office (TCT) — and hand-backs from BĐT to TCT."""

from __future__ import annotations

from shared.domain.lifecycle import Happening, Refused, worked
from shared.domain.provinces import TCT
from shared.outreach import lifecycle
from shared.outreach.announcements import announce_escalation, supported
from shared.service import Context, Rejected, Service
from shared.store.models import Escalation
from shared.privacy import erasure


def on_escalated(event, ctx: Context) -> None:
    # The hand-back's announcement moved the lead already; any other escalation moves it here (the
    # normalizer only reads the store) or finds it moved by the service that escalated it.
    if event.reason != "returned_to_tct" and isinstance(
            lifecycle.move(ctx, event.lead_id, Happening.ESCALATED, event.owner), Refused):
        return  # e.g. an escalation emitted before a hand-back was known: TCT keeps the lead
    escalation = ctx.session.get(Escalation, event.lead_id)
    if escalation is None:
        escalation = Escalation(lead_id=event.lead_id, escalated_at=ctx.now())
        ctx.session.add(escalation)
    escalation.owner, escalation.province_code = event.owner, event.province_code
    escalation.reason, escalation.detail = event.reason, event.detail
    # Escalated again (handed back, or a contact found did not work out): open for its new owner.
    escalation.outcome = escalation.closed_at = None


def on_returned(event, ctx: Context) -> None:
    escalation = ctx.session.get(Escalation, event.lead_id)
    if escalation is None:
        raise Rejected(f"lead {event.lead_id} was never escalated, so it cannot be handed back")
    if escalation.owner != event.returned_by:
        raise Rejected(f"lead {event.lead_id} is owned by {escalation.owner}, not by {event.returned_by}")
    outcome = lifecycle.move(ctx, event.lead_id, Happening.RETURNED, event.returned_by)
    if isinstance(outcome, Refused):
        raise Rejected(outcome.reason)
    escalation.returned_by = event.returned_by
    # Announced like any escalation, so downstream CRM sees the new owner.
    announce_escalation(ctx, event.lead_id, escalation.province_code, "returned_to_tct", event.note, owner=TCT)


def on_worked(event, ctx: Context) -> None:
    """The owner worked the lead (the console): the escalation closes with the outcome; a customer
    reached and helped is supported by its owner, an inactive enterprise closed. A contact found
    goes back into outreach through the segmenter, which moves the lead."""
    escalation = ctx.session.get(Escalation, event.lead_id)
    if escalation is None:
        raise Rejected(f"lead {event.lead_id} was never escalated, so it cannot be worked")
    if escalation.owner != event.worked_by:
        raise Rejected(f"lead {event.lead_id} is owned by {escalation.owner}, not by {event.worked_by}")
    if escalation.closed_at is not None:
        raise Rejected(f"lead {event.lead_id} was worked already ({escalation.outcome})")
    if event.outcome == "supported":
        # The contract's `via` enum cannot gain a symbol its v1 readers would fail on: the owner says who.
        supported(ctx, event.lead_id, "call", worked_by=event.worked_by)
    elif event.outcome == "closed_inactive":
        outcome = lifecycle.move(ctx, event.lead_id, worked(event.outcome), event.worked_by)
        if isinstance(outcome, Refused):
            raise Rejected(outcome.reason)
    escalation.outcome, escalation.closed_at = event.outcome, ctx.now()


def on_supported(event, ctx: Context) -> None:
    """Supported another way (the customer called the hotline, an e-mail reply led to a call): the
    owner has nothing left to do, so the lead leaves its worklist."""
    escalation = ctx.session.get(Escalation, event.lead_id)
    if escalation is not None and escalation.closed_at is None:
        escalation.outcome, escalation.closed_at = "supported", ctx.now()


SERVICE = Service(name="escalations", emits=("lead-escalated", "customer-supported"), handlers={
    "lead-escalated": on_escalated, "escalation-returned": on_returned, "lead-worked": on_worked,
    "customer-supported": on_supported, "subject-erasure-requested": erasure.handler("escalations")})
