"""Lead ledger: where each lead stands in the funnel, for `careflow funnel` and the CRM.

A lead moves forward only: imported → normalized → in outreach → supported or escalated; a
customer who is supported after an escalation (the post office reached them) counts as supported.
The ledger observes: the events of one lead arrive on different topics in any order, so it keeps
the furthest stage of the lifecycle's order; what services ask before acting is the lifecycle
itself (`shared.domain.lifecycle`, stored in lead_states). The owner of an escalation moves it on
(`lead-worked`): a contact found puts it back in outreach, an enterprise confirmed inactive is closed.
"""

from __future__ import annotations

from shared.domain.lifecycle import Stage
from shared.service import Context, Service
from shared.store.models import Lead
from shared.privacy import erasure

STAGES = tuple(s.value for s in (Stage.IMPORTED, Stage.NORMALIZED, Stage.IN_OUTREACH, Stage.ESCALATED,
                                 Stage.SUPPORTED, Stage.CLOSED_INACTIVE))


def _advance(lead: Lead, stage: str, ctx: Context) -> None:
    if STAGES.index(stage) > STAGES.index(lead.stage):
        lead.stage = stage
    lead.updated_at = ctx.now()


def _lead(ctx: Context, lead_id: str) -> Lead:
    lead = ctx.session.get(Lead, lead_id)
    if lead is None:
        # Events of one lead arrive on different topics: a later one may overtake its import.
        lead = Lead(lead_id=lead_id, stage="imported", imported_at=ctx.now(), updated_at=ctx.now(), calls=0,
                    tax_code_valid=False, has_email=False, has_mobile=False, has_landline=False)
        ctx.session.add(lead)
    return lead


def on_imported(event, ctx: Context) -> None:
    lead = _lead(ctx, event.lead_id)
    lead.source, lead.bhxh_unit_code = event.source, event.bhxh_unit_code or lead.bhxh_unit_code
    lead.company_name = lead.company_name or event.company_name


def on_normalized(event, ctx: Context) -> None:
    lead = _lead(ctx, event.lead_id)
    lead.tax_code, lead.tax_code_valid, lead.company_name = event.tax_code, event.tax_code_valid, event.company_name
    lead.province_code, lead.outreach_list = event.province_code, event.outreach_list
    lead.has_email, lead.has_mobile, lead.has_landline = event.has_email, event.has_mobile, event.has_landline
    _advance(lead, "normalized", ctx)


def on_escalated(event, ctx: Context) -> None:
    lead = _lead(ctx, event.lead_id)
    lead.province_code = lead.province_code or event.province_code
    _advance(lead, "escalated", ctx)


def on_requested(event, ctx: Context) -> None:
    if getattr(event, "subject_type", "lead") == "lead":
        _advance(_lead(ctx, getattr(event, "lead_id", None) or event.subject_id), "in_outreach", ctx)


def on_call_ended(event, ctx: Context) -> None:
    if event.subject_type == "lead":
        lead = _lead(ctx, event.subject_id)
        lead.calls += 1
        lead.updated_at = ctx.now()


def on_supported(event, ctx: Context) -> None:
    _advance(_lead(ctx, event.lead_id), "supported", ctx)


def on_worked(event, ctx: Context) -> None:
    lead = _lead(ctx, event.lead_id)
    if event.outcome == "contact_found" and lead.stage == Stage.ESCALATED.value:
        lead.stage, lead.updated_at = Stage.IN_OUTREACH.value, ctx.now()
    elif event.outcome == "closed_inactive":
        _advance(lead, Stage.CLOSED_INACTIVE.value, ctx)
    # supported: `customer-supported` follows from the escalations service.


SERVICE = Service(name="lead-ledger", handlers={
    "lead-imported": on_imported, "lead-normalized": on_normalized, "lead-escalated": on_escalated,
    "email-requested": on_requested, "sms-requested": on_requested, "call-requested": on_requested,
    "call-ended": on_call_ended, "customer-supported": on_supported,
    "lead-worked": on_worked,
    "subject-erasure-requested": erasure.handler("leads")})
