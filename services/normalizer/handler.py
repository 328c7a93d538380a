"""Normalizer (SPEC A2-A3): lead-imported → normalized, enriched, classified lead-normalized,
or lead-escalated to the province's post office when the enterprise is inactive or unknown
everywhere with no contact."""

from __future__ import annotations

from shared.domain.leads import RawLead, normalize_lead
from shared.enrichment import EnrichmentUnavailable, look_up
from shared.domain.lifecycle import Happening, Moved
from shared.domain.provinces import post_office_code
from shared.outreach import lifecycle
from shared.outreach.announcements import announce_escalation
from shared.service import Context, Service, StoreAccess
from shared.store import StoreSession
from shared.store.models import LeadStateRow


def on_lead_imported(event, ctx: Context) -> None:
    raw = RawLead(event.tax_code, event.company_name, event.address, event.phones, event.emails)
    lead = normalize_lead(raw)
    pending = False
    try:
        record = look_up(ctx.policies.enrichment, lead.tax_code) if lead.tax_code_valid else None
    except EnrichmentUnavailable:
        # The registry is down: the lead goes on from its own data, marked pending (never "not_found");
        # the segmenter looks it up again later (its "enrichment_retry" deadline).
        record, pending = None, True
    if record is not None and not record.active:
        _escalate(ctx, event.lead_id, lead.province_code, "inactive", f"{record.source} lists the enterprise as inactive")
        return
    if record is not None:
        lead = normalize_lead(RawLead(
            lead.tax_code, lead.company_name or record.company_name, raw.address or record.address,
            ";".join(filter(None, [raw.phones, record.phones])), ";".join(filter(None, [raw.emails, record.emails]))))
    elif not (pending or lead.phones or lead.emails):
        _escalate(ctx, event.lead_id, lead.province_code, "not_found",
                  "no contact in the list and no enrichment source knows it")
        return
    ctx.emit("lead-normalized", lead_id=event.lead_id, tax_code=lead.tax_code, tax_code_valid=lead.tax_code_valid,
             company_name=lead.company_name, province_code=lead.province_code,
             phones=[{"e164": p.e164, "type": p.type.value} for p in lead.phones], emails=list(lead.emails),
             invalid_phones=list(lead.invalid_phones), invalid_emails=list(lead.invalid_emails),
             has_email=lead.has_email, has_mobile=lead.has_mobile, has_landline=lead.has_landline,
             outreach_list=lead.outreach_list.value, enrichment_source=record.source if record else None,
             enrichment_pending=pending)


def _escalate(ctx: Context, lead_id: str, province_code: str | None, reason: str, detail: str) -> None:
    """Escalates unless the lead's lifecycle says it is escalated already (a re-import), handed back
    or done with; the escalations service moves the lead when it takes the event."""
    if isinstance(lifecycle.ask(ctx, lead_id, Happening.ESCALATED, post_office_code(province_code)), Moved):
        announce_escalation(ctx, lead_id, province_code, reason, detail)


def prefetch(events: list, session: StoreSession) -> None:
    """The batch's lead states in one query: an escalation reads its lead's (a query each, before,
    a sixth of the service's CPU), and a state not found is answered without SQL."""
    session.prefetch(LeadStateRow, [event.lead_id for event in events])


# Reads the lead's state, writes nothing: the normalizer's throughput is the pipeline's.
SERVICE = Service(name="normalizer", emits=("lead-normalized", "lead-escalated"), handlers={"lead-imported": on_lead_imported},
                  store=StoreAccess.READ, prefetch=prefetch)
