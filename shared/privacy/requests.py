"""Data-subject requests on time: each is recorded with when it arrived and when it is due under
the configured deadlines (Decree 356/2025/NĐ-CP); the open ones are listed overdue first."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.privacy.subjects import Subject
from shared.store.models import (CallTask, CareCase, CareCustomer, Consent, ConsentEvidence, Contact, Escalation,
                                 Lead, OutreachLead, OutreachRequest, ProfileDecision, SubjectRequest, Subscriber)

REQUEST_KINDS = ("access", "withdrawal", "erasure")


def deadline(settings: Settings, kind: str) -> dt.timedelta:
    return dt.timedelta(days={"access": settings.dsr_access_days, "withdrawal": settings.dsr_withdrawal_days,
                              "erasure": settings.dsr_erasure_days}[kind])


def record(session: Session, settings: Settings, kind: str, subject_id: str, identifier_kind: str,
           received_at: dt.datetime, answered: str | None = None) -> SubjectRequest:
    """Records a request (answered at once when `answered` says how)."""
    request = SubjectRequest(request_id=str(uuid.uuid4()), kind=kind, subject_id=subject_id,
                             identifier_kind=identifier_kind, received_at=received_at,
                             due_at=received_at + deadline(settings, kind),
                             answered_at=received_at if answered else None, outcome=answered)
    session.add(request)
    return request


def answer(session: Session, request_id: str, at: dt.datetime, outcome: str) -> None:
    request = session.get(SubjectRequest, request_id)
    if request is not None and request.answered_at is None:
        request.answered_at, request.outcome = at, outcome


@dataclass(frozen=True)
class OpenRequest:
    request_id: str
    kind: str
    subject_id: str
    received_at: dt.datetime
    due_at: dt.datetime
    overdue: bool


def open_requests(session: Session, now: dt.datetime) -> list[OpenRequest]:
    """Requests not answered yet, the overdue ones first, each group by due time (for the CLI and the console)."""
    rows = session.scalars(select(SubjectRequest).where(SubjectRequest.answered_at.is_(None))
                           .order_by(SubjectRequest.due_at))
    found = [OpenRequest(r.request_id, r.kind, r.subject_id, r.received_at, r.due_at, r.due_at < now) for r in rows]
    return sorted(found, key=lambda r: (not r.overdue, r.due_at))


def _rows(session: Session, model, *conditions) -> list[dict]:
    columns = [c.key for c in model.__table__.columns]
    return [{c: _plain(getattr(row, c)) for c in columns} for row in session.scalars(select(model).where(*conditions))]


def _plain(value):
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def export(session: Session, subject: Subject) -> dict[str, list[dict]]:
    """Everything careflow holds about the subject, table by table; consent evidence says what,
    when, through which channel and from which source."""
    leads, contacts, msisdns = subject.lead_ids, subject.contacts, subject.msisdns
    return {
        "leads": _rows(session, Lead, Lead.lead_id.in_(leads)),
        "outreach_leads": _rows(session, OutreachLead, OutreachLead.lead_id.in_(leads)),
        "contacts": _rows(session, Contact, Contact.lead_id.in_(leads) | Contact.value.in_(contacts)),
        "consents": _rows(session, Consent, Consent.contact.in_(contacts)),
        "consent_evidence": _rows(session, ConsentEvidence, ConsentEvidence.contact.in_(contacts)),
        "outreach_requests": _rows(session, OutreachRequest, OutreachRequest.lead_id.in_(leads)
                                   | OutreachRequest.contact.in_(contacts)),
        "call_tasks": _rows(session, CallTask, CallTask.lead_id.in_(leads)),
        "escalations": _rows(session, Escalation, Escalation.lead_id.in_(leads)),
        "care_customers": _rows(session, CareCustomer, CareCustomer.customer_id.in_(leads)),
        "care_cases": _rows(session, CareCase, CareCase.customer_id.in_(leads | subject.tax_codes)),
        "subscribers": _rows(session, Subscriber, Subscriber.msisdn.in_(msisdns)),
        "profile_decisions": _rows(session, ProfileDecision, ProfileDecision.msisdn.in_(msisdns)),
    }
