"""How a lead's outcome is announced, one way for every service: escalated to an owner (the post
office of its province, or TCT), or supported; either way its calls stop. Both ask the lead's
lifecycle first: a supported lead is not escalated, an escalated one not escalated again."""

from __future__ import annotations

from shared.domain.lifecycle import Happening, Moved
from shared.domain.provinces import post_office_code
from shared.outreach import lifecycle
from shared.service import Context
from shared.store.models import CallTask, OutreachLead


def announce_escalation(ctx: Context, lead_id: str, province_code: str | None, reason: str, detail: str | None,
                        owner: str | None = None) -> None:
    """Announces that the lead belongs to `owner`, by default the post office of its province (TCT
    when unknown); the caller has moved the lead's lifecycle."""
    ctx.emit("lead-escalated", lead_id=lead_id, owner=owner or post_office_code(province_code),
             province_code=province_code, reason=reason, detail=detail)


def escalate(ctx: Context, lead_id: str, reason: str, detail: str, province_code: str | None = None,
             moving: lifecycle.Moving | None = None) -> bool:
    """Escalates the lead to the post office of its province (`province_code`, else as the
    segmenter kept it) when its lifecycle allows; its calls stop. False when refused. `moving`: the
    lead's moves under way in this handler, which the escalation joins (its caller writes them)."""
    if province_code is None:
        lead = ctx.session.get(OutreachLead, lead_id)
        province_code = lead.province_code if lead else None
    owner = post_office_code(province_code)
    outcome = (moving.apply((Happening.ESCALATED, owner)) if moving is not None
               else lifecycle.move(ctx, lead_id, Happening.ESCALATED, owner))
    if not isinstance(outcome, Moved):
        return False
    announce_escalation(ctx, lead_id, province_code, reason, detail)
    _end_calls(ctx, lead_id, "escalated")
    return True


def supported(ctx: Context, lead_id: str, via: str, worked_by: str | None = None) -> bool:
    """Announces the customer supported, once; False when the lead was supported already.
    `worked_by`: the owner of the lead's escalation (a post office, TCT) who reached the customer."""
    if not isinstance(lifecycle.move(ctx, lead_id, Happening.SUPPORTED), Moved):
        return False
    lead = ctx.session.get(OutreachLead, lead_id)
    ctx.emit("customer-supported", lead_id=lead_id, tax_code=lead.tax_code if lead else None,
             province_code=lead.province_code if lead else None, via=via, worked_by=worked_by)
    _end_calls(ctx, lead_id, "supported")
    return True


def _end_calls(ctx: Context, lead_id: str, status: str) -> None:
    task = ctx.session.get(CallTask, lead_id)
    if task is not None:
        task.status, task.updated_at = status, ctx.now()
