"""Escalations (SPEC A2, A6, A7): who owns each lead careflow could not serve itself — the post
office of its province (BDT-<code>) or the head office (TCT) — and hand-backs from BĐT to TCT."""

from __future__ import annotations

from shared.domain.lifecycle import Happening, Refused
from shared.domain.provinces import TCT
from shared.outreach import lifecycle
from shared.outreach.announcements import announce_escalation
from shared.service import Context, Rejected, Service
from shared.store.models import Escalation


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


SERVICE = Service(name="escalations", handlers={"lead-escalated": on_escalated, "escalation-returned": on_returned})
