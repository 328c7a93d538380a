"""Segmenter (SPEC A4-A5): a normalized lead becomes a channel plan — e-mail marketing, SMS
marketing, a consultation call to the mobile first — under the contact rules; a lead that can
be reached no way is escalated. It also keeps the consent and Do-Not-Call state the rules read."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from shared import enrichment
from shared.domain.calls import DialNumber, dial_order
from shared.domain.contact_rules import DNC_CHANNELS, Blocked, Channel, parse_agreed_hours
from shared.domain.emails import split_emails
from shared.domain.lifecycle import Happening, Moved, worked
from shared.domain.phones import normalize_phone
from shared.domain.provinces import PROVINCE_NAMES
from shared.outreach import announcements, lifecycle, requests
from shared.service import Context, Rejected, Service
from shared.store import deadlines
from shared.store.models import (CallTask, Consent, ConsentEvidence, Contact, Deadline, LeadStateRow,
                                 OutreachLead)
from shared.privacy import erasure
from shared.privacy.subjects import Subject, keyed_hash, privacy_key


# The enrichment source was down for a lead: after this long, the lead is looked up again.
ENRICHMENT_RETRY_AFTER = dt.timedelta(minutes=10)


def on_lead_normalized(event, ctx: Context) -> None:
    if event.enrichment_pending:
        _retry_enrichment_later(event, ctx)
        if event.outreach_list == "insufficient":
            return  # held, not escalated: the look-up may find its contacts; it comes back as a new lead
    phones = _remember(event, ctx)
    if phones is None:
        return  # re-imported: the lead's plan is under way already; new contacts are kept for its calls
    # The lead's moves (normalized, in outreach, escalated) are applied in turn and written once.
    moving = lifecycle.Moving(ctx, event.lead_id)
    if event.outreach_list == "insufficient":
        moving.apply((Happening.NORMALIZED, None))
        announcements.escalate(ctx, event.lead_id, "insufficient_contacts", "no callable phone and no e-mail address",
                               event.province_code, moving)
    elif isinstance(moving.apply((Happening.NORMALIZED, None), (Happening.OUTREACH_STARTED, None)), Moved):
        unreachable = _plan(ctx, event.lead_id, list(event.emails),
                            [p.e164 for p in event.phones if p.type == "mobile"], phones,
                            event.envelope.correlation_id)
        if unreachable is not None:
            announcements.escalate(ctx, event.lead_id, "unreachable", unreachable, event.province_code, moving)
    # else: the lead moved on before its plan (escalated, supported on the hotline)
    moving.write()


_LABELS = {Channel.EMAIL: "e-mail", Channel.SMS: "sms", Channel.CALL: "call"}


def _plan(ctx: Context, lead_id: str, emails: list[str], mobiles: list[str], phones: list[DialNumber],
          correlation_id: str) -> str | None:
    """E-mail and SMS marketing, then the first call that the contact rules allow, decided in one call;
    why the lead is unreachable when no call and no e-mail is allowed (the caller escalates it), else None."""
    verdicts = requests.plan(ctx, lead_id, emails, mobiles, [number.e164 for number in dial_order(phones)])
    if any(v.channel is Channel.CALL and not isinstance(v.decision, Blocked) for v in verdicts):
        return None
    if any(v.channel is Channel.EMAIL and not isinstance(v.decision, Blocked) for v in verdicts):
        # E-mail only: the customer may reply or call the hotline; past the wait, the post office takes over.
        due = ctx.now() + ctx.policies.reply_wait
        deadlines.schedule(ctx.session, requests.reply_wait_id(lead_id), requests.REPLY_WAIT, lead_id, due,
                           {"correlation_id": correlation_id})
        return None
    blocked = {f"{_LABELS[v.channel]}: {v.decision.reason}" for v in verdicts if isinstance(v.decision, Blocked)}
    return "the contact rules allow no channel: " + "; ".join(sorted(blocked))


def _retry_enrichment_later(event, ctx: Context) -> None:
    """The normalizer keeps no store, so the segmenter keeps the timer; its firing sends the lead
    through the normalizer again as a `lead-imported` made of what the lead became (the province
    stands for the address), and the normalizer's look-up enriches it once the source is back."""
    request = {"correlation_id": event.envelope.correlation_id, "tax_code": event.tax_code,
               "company_name": event.company_name, "address": PROVINCE_NAMES.get(event.province_code or ""),
               "phones": ";".join([p.e164 for p in event.phones] + list(event.invalid_phones)) or None,
               "emails": ";".join(list(event.emails) + list(event.invalid_emails)) or None}
    deadline_id = f"{enrichment.RETRY}:{event.envelope.event_id}"  # one per look-up: a fired one stays fired
    deadlines.schedule(ctx.session, deadline_id, enrichment.RETRY, event.lead_id, ctx.now() + ENRICHMENT_RETRY_AFTER,
                       request)


def on_enrichment_retry(deadline: Deadline, ctx: Context) -> None:
    fields = {k: v for k, v in deadline.payload.items() if k != "correlation_id"}
    ctx.emit("lead-imported", lead_id=deadline.subject_id, source=enrichment.RETRY, row_number=0, **fields)


def on_lead_worked(event, ctx: Context) -> None:
    """A post office found a phone number or an e-mail address (the console): kept with the lead's
    contacts, and outreach starts again through it under the contact rules."""
    if event.outcome != "contact_found":
        return
    phone = normalize_phone(event.phone) if event.phone else None
    emails, _ = split_emails(event.email)
    if event.phone and (phone is None or phone.type.value not in ("mobile", "landline", "voip")):
        raise Rejected(f"lead {event.lead_id}: the phone number found is not a callable Vietnamese number")
    if phone is None and not emails:
        raise Rejected(f"lead {event.lead_id}: a contact found needs a valid phone number or e-mail address")
    outcome = lifecycle.move(ctx, event.lead_id, worked(event.outcome), event.worked_by)
    if not isinstance(outcome, Moved):
        raise Rejected(getattr(outcome, "reason", f"lead {event.lead_id} is back in outreach already"))
    if ctx.session.get(OutreachLead, event.lead_id) is None:
        ctx.session.stage(OutreachLead, lead_id=event.lead_id)  # escalated before outreach (inactive, unknown)
    position = max(ctx.session.scalars(select(Contact.position).where(Contact.lead_id == event.lead_id)), default=-1)
    found = [(phone.e164, "phone", phone.type.value)] if phone else []
    found += [(address, "email", None) for address in emails[:1]]
    added = []
    for value, kind, phone_type in found:
        contact = ctx.session.get(Contact, (event.lead_id, value))
        if contact is None:
            position += 1
            contact = ctx.session.stage(Contact, lead_id=event.lead_id, value=value, kind=kind,
                                        phone_type=phone_type, position=position, given_by_customer=False)
        contact.dead = False
        added.append(contact)
    unreachable = _plan(ctx, event.lead_id, [c.value for c in added if c.kind == "email"],
                        [c.value for c in added if c.phone_type == "mobile"],
                        [requests.dial_number(c.value, c.phone_type, c.dead) for c in added if c.kind == "phone"],
                        event.envelope.correlation_id)
    if unreachable is not None:
        announcements.escalate(ctx, event.lead_id, "unreachable", unreachable)


def _remember(event, ctx: Context) -> list[DialNumber] | None:
    """Keeps the lead and its contacts; the new lead's numbers to dial, None when the lead was known."""
    session = ctx.session
    lead = session.get(OutreachLead, event.lead_id)
    known = lead is not None
    if known:
        lead.tax_code, lead.province_code, lead.company_name = event.tax_code, event.province_code, event.company_name
    else:
        session.stage(OutreachLead, lead_id=event.lead_id, tax_code=event.tax_code, province_code=event.province_code,
                      company_name=event.company_name)
    contacts = [(p.e164, "phone", p.type) for p in event.phones if p.type in ("mobile", "landline", "voip")]
    contacts += [(address, "email", None) for address in event.emails]
    numbers = []
    lead_id = event.lead_id
    for position, (value, kind, phone_type) in enumerate(contacts):
        if known and session.get(Contact, (lead_id, value)) is not None:
            continue
        # An erased person is planned for (the rules block them, saying why) but never stored again.
        if not requests.consent_of(ctx, value).erased:
            session.stage(Contact, lead_id=lead_id, value=value, kind=kind, phone_type=phone_type, position=position,
                          dead=False, given_by_customer=False)
        if kind == "phone":
            numbers.append(requests.dial_number(value, phone_type))
    return None if known else numbers


def on_consent_changed(event, ctx: Context) -> None:
    try:
        hours = parse_agreed_hours(event.agreed_hours)
    except ValueError as exc:
        raise Rejected(str(exc)) from None
    key = privacy_key(ctx.policies.settings)
    if event.status == "erased" and key is not None:
        # As a data-subject erasure: the contact's rows go, a keyed hash (never the value) keeps it
        # blocked — the batch guard stops every later event that names it.
        requests.cancel_outstanding(ctx, event.contact, frozenset(Channel), f"erased ({event.source})")
        subject = Subject(**{"phones" if event.contact_kind == "phone" else "emails": {event.contact}})
        requests.forget_consents(ctx.session)  # the consent row goes
        erasure.forget(ctx, subject, ("contacts", "consents", "consent_evidence"), event.envelope.event_id,
                       keyed_hash(key, event.contact))
        return
    state = requests.consent_of(ctx, event.contact).apply(event.status, event.channel, hours)
    requests.record_consent(ctx, event.contact, state)
    if event.status in ("withdrawn", "dnc_listed", "erased"):
        # An opt-out stops that kind of contact at once: recall what is asked and not yet carried out.
        scope = frozenset(Channel) if event.channel == "all" or event.status == "erased" else {Channel(event.channel)}
        requests.cancel_outstanding(ctx, event.contact, frozenset(scope & DNC_CHANNELS if event.status == "dnc_listed"
                                                                  else scope), f"{event.status} ({event.source})")
    if event.status == "erased":
        # Without a privacy key (no suppression possible), the "erased" consent row is what keeps
        # the contact blocked; everything else about it goes.
        ctx.session.execute(delete(Contact).where(Contact.value == event.contact))
        ctx.session.execute(update(ConsentEvidence).where(ConsentEvidence.contact == event.contact)
                            .values(evidence=None))
    ctx.session.stage(ConsentEvidence, event_id=event.envelope.event_id, contact=event.contact, channel=event.channel,
                      status=event.status, source=event.source, evidence=None if state.erased else event.evidence,
                      changed_at=event.changed_at)


_erase = erasure.handler("outreach_leads", "contacts", "outreach_requests", "blocked_requests", "call_tasks", "deadlines",
                         "consents", "consent_evidence", "lead_states", "lifecycle_refusals")


def on_subject_erasure_requested(event, ctx: Context) -> None:
    requests.forget_consents(ctx.session)  # the person's consent rows go: the batch's states are read again
    _erase(event, ctx)


on_subject_erasure_requested.tables = _erase.tables  # type: ignore[attr-defined]  # as erasure.handler's


def prefetch(events: list, session: Session) -> None:
    """A batch's leads, their call tasks and the consent of every contact they name, read at once."""
    leads = [event for event in events if event.envelope.event_type == "lead-normalized"]
    changed = [event.contact for event in events if event.envelope.event_type == "consent-changed"]
    named = [c for lead in leads for c in (*lead.emails, *(p.e164 for p in lead.phones))]
    contacts = changed + named
    lead_ids = [lead.lead_id for lead in leads]
    session.prefetch(OutreachLead, lead_ids)
    session.prefetch(LeadStateRow, lead_ids)
    session.prefetch(CallTask, lead_ids)
    # Consent-changed events update their contacts' rows (ORM objects); the leads' contacts are only read.
    session.prefetch(Consent, changed)
    requests.prefetch_consents(session, named)
    session.prefetch(Deadline, [requests.reply_wait_id(lead_id) for lead_id in lead_ids])
    requests.prefetch_recent_sends(session, contacts)


SERVICE = Service(name="segmenter", emits=("email-requested", "sms-requested", "call-requested", "lead-escalated",
                                              "outreach-cancelled", "lead-imported"),
                  deadline_handlers={enrichment.RETRY: on_enrichment_retry}, handlers={"lead-normalized": on_lead_normalized,
                                              "consent-changed": on_consent_changed,
                                              "lead-worked": on_lead_worked,
                                              "subject-erasure-requested": on_subject_erasure_requested},
                  prefetch=prefetch)
