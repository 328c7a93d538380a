"""Privacy (Law 91/2025/QH15): an erasure request is recorded as answered, the person's identifiers
are suppressed, and downstream CRM subscribers hear `subject-erased` — with no personal data — so
that they erase too. Every other service erases the person from its own tables on the same event."""

from __future__ import annotations

import datetime as dt

from shared.privacy import requests, suppression
from shared.privacy.subjects import Subject, privacy_key
from shared.service import Context, Service


def data_kinds(subject: Subject) -> list[str]:
    """The kinds of data careflow removed (what downstream subscribers should look for)."""
    kinds = []
    if subject.lead_ids or subject.tax_codes:
        kinds += ["lead", "outreach requests", "call tasks", "escalation", "care cases"]
    if subject.contacts:
        kinds += ["contacts", "consent", "consent evidence"]
    if subject.msisdns:
        kinds += ["subscriber profile", "profile decisions"]
    return kinds + ["stored outputs of processed events"]


def on_erasure_requested(event, ctx: Context) -> None:
    subject = Subject.from_event(event)
    count = suppression.suppress(ctx.session, privacy_key(ctx.policies.settings), subject, event.request_id, ctx.now())
    retention = dt.timedelta(days=ctx.policies.settings.personal_data_retention_days)
    requests.answer(ctx.session, event.request_id, ctx.now(), "erased; downstream told by subject-erased")
    ctx.emit("subject-erased", subject_id=event.subject_id, request_id=event.request_id, data_kinds=data_kinds(subject),
             suppressed=count, erased_at=ctx.now(), topics_clear_by=event.requested_at + retention)


SERVICE = Service(name="privacy", emits=("subject-erased",), handlers={"subject-erasure-requested": on_erasure_requested})
