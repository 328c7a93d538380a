"""How a lead's outcome is announced, one way for every service: escalated to an owner (the post
office of its province, or TCT), or supported; either way its calls stop."""

from __future__ import annotations

from shared.domain.provinces import post_office_code
from shared.service import Context
from shared.store.models import CallTask, OutreachLead


def announce_escalation(ctx: Context, lead_id: str, province_code: str | None, reason: str, detail: str | None,
                        owner: str | None = None) -> None:
    """Hands the lead to `owner`, by default the post office of its province (TCT when unknown)."""
    ctx.emit("lead-escalated", lead_id=lead_id, owner=owner or post_office_code(province_code),
             province_code=province_code, reason=reason, detail=detail)


def escalate(ctx: Context, lead_id: str, reason: str, detail: str) -> None:
    """Escalates a lead in outreach: its province as the segmenter kept it; its calls stop."""
    lead = ctx.session.get(OutreachLead, lead_id)
    announce_escalation(ctx, lead_id, lead.province_code if lead else None, reason, detail)
    _end_calls(ctx, lead_id, "escalated")


def supported(ctx: Context, lead_id: str, via: str, worked_by: str | None = None) -> None:
    """`worked_by`: the owner of the lead's escalation (a post office, TCT) who reached the customer."""
    lead = ctx.session.get(OutreachLead, lead_id)
    ctx.emit("customer-supported", lead_id=lead_id, tax_code=lead.tax_code if lead else None,
             province_code=lead.province_code if lead else None, via=via, worked_by=worked_by)
    _end_calls(ctx, lead_id, "supported")


def _end_calls(ctx: Context, lead_id: str, status: str) -> None:
    task = ctx.session.get(CallTask, lead_id)
    if task is not None:
        task.status, task.updated_at = status, ctx.now()
