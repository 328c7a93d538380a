"""Erasure: each service that keeps personal data removes the person from its own tables, blanks
the stored outputs of its processed events that name them (so a replay cannot bring them back) and
keeps the suppression entries; the privacy service then tells downstream subscribers."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Delete, delete, or_, select, update
from sqlalchemy.orm import Session

from shared.privacy import suppression
from shared.privacy.subjects import Subject, privacy_key
from shared.runner import replay
from shared.service import Context
from shared.store.models import (BlockedRequest, CallTask, CareCase, CareCustomer, Consent, ConsentEvidence, Contact,
                                 Deadline, Escalation, Lead, LeadStateRow, LifecycleRefusal, OutreachLead, OutreachRequest,
                                 ProcessedEvent, ProfileCallback, ProfileDecision, Subscriber, UnmatchedCall)

log = logging.getLogger("careflow.privacy")


def _care_cases(session: Session, s: Subject) -> list[Delete]:
    customers = s.lead_ids | s.tax_codes
    cases = set(session.scalars(select(CareCase.case_id).where(CareCase.customer_id.in_(customers))))
    return [delete(Deadline).where(Deadline.subject_id.in_(cases)),
            delete(CareCase).where(CareCase.case_id.in_(cases))]


# What erasing the person means in each table: the rows that are theirs.
TABLES: dict[str, Callable[[Session, Subject], list[Delete]]] = {
    "leads": lambda _, s: [delete(Lead).where(or_(Lead.lead_id.in_(s.lead_ids), Lead.tax_code.in_(s.tax_codes)))],
    "outreach_leads": lambda _, s: [delete(OutreachLead).where(
        or_(OutreachLead.lead_id.in_(s.lead_ids), OutreachLead.tax_code.in_(s.tax_codes)))],
    "contacts": lambda _, s: [delete(Contact).where(or_(Contact.lead_id.in_(s.lead_ids), Contact.value.in_(s.contacts)))],
    "outreach_requests": lambda _, s: [delete(OutreachRequest).where(
        or_(OutreachRequest.lead_id.in_(s.lead_ids), OutreachRequest.contact.in_(s.contacts)))],
    "blocked_requests": lambda _, s: [delete(BlockedRequest).where(BlockedRequest.lead_id.in_(s.lead_ids))],
    "call_tasks": lambda _, s: [delete(CallTask).where(or_(CallTask.lead_id.in_(s.lead_ids), CallTask.number.in_(s.phones)))],
    "deadlines": lambda _, s: [delete(Deadline).where(Deadline.subject_id.in_(s.lead_ids | s.msisdns))],
    "consents": lambda _, s: [delete(Consent).where(Consent.contact.in_(s.contacts))],
    "consent_evidence": lambda _, s: [delete(ConsentEvidence).where(ConsentEvidence.contact.in_(s.contacts))],
    "escalations": lambda _, s: [delete(Escalation).where(Escalation.lead_id.in_(s.lead_ids))],
    "care_cases": _care_cases,
    "care_customers": lambda _, s: [delete(CareCustomer).where(
        or_(CareCustomer.customer_id.in_(s.lead_ids), CareCustomer.tax_code.in_(s.tax_codes)))],
    "subscribers": lambda _, s: [delete(Subscriber).where(Subscriber.msisdn.in_(s.msisdns))],
    "profile_decisions": lambda _, s: [delete(ProfileDecision).where(ProfileDecision.msisdn.in_(s.msisdns))],
    "profile_callbacks": lambda _, s: [delete(ProfileCallback).where(
        or_(ProfileCallback.msisdn.in_(s.msisdns), ProfileCallback.number.in_(s.phones)))],
    "lead_states": lambda _, s: [delete(LeadStateRow).where(LeadStateRow.lead_id.in_(s.lead_ids))],
    "lifecycle_refusals": lambda _, s: [delete(LifecycleRefusal).where(LifecycleRefusal.lead_id.in_(s.lead_ids))],
    "unmatched_calls": lambda _, s: [delete(UnmatchedCall).where(
        or_(UnmatchedCall.number.in_(s.phones), UnmatchedCall.tax_code.in_(s.tax_codes)))],
}


def erase(session: Session, subject: Subject, tables: tuple[str, ...]) -> dict[str, int]:
    """Deletes the subject's rows from `tables`; rows removed per table."""
    removed = {}
    for table in tables:
        removed[table] = sum(session.execute(statement).rowcount for statement in TABLES[table](session, subject))
    return removed


def blank_outputs(session: Session, group: str, subject: Subject) -> int:
    """Empties the stored outputs of the group's processed events that name the subject: the events
    stay marked as handled (a redelivery changes nothing) and re-emit nothing."""
    needles = subject.needles()
    if not needles:
        return 0
    rows = session.execute(select(ProcessedEvent.event_id, ProcessedEvent.outputs)
                           .where(ProcessedEvent.consumer == group).execution_options(yield_per=1000))
    naming = [event_id for event_id, outputs in rows
              if any(needle in output.key or needle in output.value
                     for output in replay.unpack(outputs) for needle in needles)]
    for start in range(0, len(naming), 500):
        session.execute(update(ProcessedEvent).where(ProcessedEvent.consumer == group,
                                                     ProcessedEvent.event_id.in_(naming[start:start + 500]))
                        .values(outputs=replay.pack([])))
    return len(naming)


def forget(ctx: Context, subject: Subject, tables: tuple[str, ...], request_id: str, subject_id: str) -> None:
    """Erases the subject from the service's `tables` and stored outputs, and suppresses them."""
    removed = erase(ctx.session, subject, tables)
    blanked = blank_outputs(ctx.session, ctx.topic_prefix + ctx.service, subject)
    suppression.suppress(ctx.session, privacy_key(ctx.policies.settings), subject, request_id, ctx.now())
    log.info("data subject erased", extra={"request_id": request_id, "subject": subject_id,
                                           "removed": removed, "outputs_blanked": blanked})


def handler(*tables: str) -> Callable:
    """A service's `subject-erasure-requested` handler over the tables it keeps."""
    unknown = set(tables) - set(TABLES)
    if unknown:
        raise ValueError(f"no erasure defined for table(s) {', '.join(sorted(unknown))}")

    def on_erasure_requested(event, ctx: Context) -> None:
        forget(ctx, Subject.from_event(event), tables, event.request_id, event.subject_id)

    on_erasure_requested.tables = tables
    return on_erasure_requested
