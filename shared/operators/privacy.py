"""The data-protection officer's operations: erase a person, export what careflow holds about
them, withdraw their consent, and the requests still open (`careflow privacy ...`, the console)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from shared.config import Settings
from shared.kafka import Publisher
from shared.privacy import requests, suppression
from shared.privacy.erasure import TABLES
from shared.privacy.subjects import Subject, keyed_hash, normalize_identifier, privacy_key, resolve

open_requests = requests.open_requests


@dataclass
class ErasureReport:
    request_id: str
    subject_id: str
    due_at: dt.datetime
    found: dict[str, int]
    tables: tuple[str, ...]
    topics_clear_by: dt.datetime

    def lines(self) -> list[str]:
        found = ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in self.found.items() if count)
        return [f"erasure request {self.request_id} (subject {self.subject_id[:16]}…), due {self.due_at:%Y-%m-%d %H:%M} UTC",
                f"found: {found or 'nothing held today; the identifier is suppressed all the same'}",
                f"the services erase these tables: {', '.join(self.tables)}, and blank the stored outputs of the "
                "processed events that name the person; the privacy service then emits subject-erased",
                f"copies in careflow's topics age out by {self.topics_clear_by:%Y-%m-%d %H:%M} UTC "
                "(the topics' retention after now)"]


def _subject_id(settings: Settings, kind: str, value: str) -> tuple[str, str]:
    normalized = normalize_identifier(kind, value)
    return normalized, keyed_hash(privacy_key(settings), normalized)


def erase(session: Session, publisher: Publisher, settings: Settings, kind: str, value: str,
          now: dt.datetime) -> ErasureReport:
    """Records the erasure request and publishes the one event every service erases on."""
    normalized, subject_id = _subject_id(settings, kind, value)
    subject = resolve(session, kind, normalized)
    request = requests.record(session, settings, "erasure", subject_id, kind, now)
    session.commit()
    publisher.publish("subject-erasure-requested", subject_id=subject_id, request_id=request.request_id,
                      identifier_kind=kind, requested_at=now, **subject.fields())
    publisher.flush()
    return ErasureReport(request.request_id, subject_id, request.due_at,
                         {name: len(values) for name, values in subject.fields().items()}, tuple(TABLES),
                         now + dt.timedelta(days=settings.personal_data_retention_days))


def access(session: Session, settings: Settings, kind: str, value: str, now: dt.datetime) -> dict:
    """Everything careflow holds about the person (consent evidence included), recorded as answered."""
    normalized, subject_id = _subject_id(settings, kind, value)
    held = requests.export(session, resolve(session, kind, normalized))
    request = requests.record(session, settings, "access", subject_id, kind, now, answered="export given")
    session.commit()
    return {"request_id": request.request_id, "received_at": now.isoformat(), "held": held}


def withdraw(session: Session, publisher: Publisher, settings: Settings, kind: str, value: str,
             now: dt.datetime) -> str:
    """Withdraws the person's consent to every channel: the contact rules stop marketing at once."""
    if kind not in ("phone", "email"):
        raise ValueError("consent is held per phone number or e-mail address: give --phone or --email")
    normalized, subject_id = _subject_id(settings, kind, value)
    request = requests.record(session, settings, "withdrawal", subject_id, kind, now,
                              answered="consent-changed withdrawn (all channels) published")
    publisher.publish("consent-changed", contact=normalized, contact_kind=kind, channel="all", status="withdrawn",
                      source="data-subject request", evidence=f"request {request.request_id}", changed_at=now)
    publisher.flush()
    session.commit()
    return request.request_id


def import_check(session: Session, settings: Settings) -> Callable[[dict], bool] | None:
    """For `careflow import`: whether a row's fields name an erased person (None without a privacy key)."""
    key = privacy_key(settings)
    if key is None:
        return None
    return lambda fields: bool(suppression.suppressed(session, key, suppression.identifiers_of(fields)))


def to_json(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


__all__ = ["ErasureReport", "Subject", "access", "erase", "import_check", "open_requests", "to_json", "withdraw"]
