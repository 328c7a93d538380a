"""Timers kept in the store, so they survive restarts; the runtime fires each once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from shared.store import StoreSession
from shared.store.models import Deadline


def schedule(session: StoreSession, deadline_id: str, kind: str, subject_id: str, due_at: dt.datetime,
             payload: dict | None = None) -> None:
    """Sets (or moves) a deadline; one that already fired stays fired."""
    existing = session.get(Deadline, deadline_id)
    if existing is None:
        session.stage(Deadline, deadline_id=deadline_id, kind=kind, subject_id=subject_id, due_at=due_at,
                      payload=payload or {}, published=False)
    elif existing.fired_at is None:
        existing.due_at, existing.cancelled_at = due_at, None
        existing.payload = payload or existing.payload


def cancel(session: StoreSession, deadline_id: str, now: dt.datetime) -> bool:
    """Cancels a pending deadline; False when it had already fired (or never existed)."""
    if session.get(Deadline, deadline_id) is None:
        return False  # no statement: a batch's prefetch knows most deadlines asked for do not exist
    return bool(session.execute(update(Deadline).where(
        Deadline.deadline_id == deadline_id, Deadline.fired_at.is_(None), Deadline.cancelled_at.is_(None))
        .values(cancelled_at=now)).rowcount)
