"""Firing deadlines (timers kept in the store, `shared.store.deadlines`): each due deadline is
claimed once across every instance, its handler's outputs stored with it, and published in a Kafka
transaction; a firing whose outputs never reached Kafka (its instance died) is published again."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from shared.observability import metrics
from shared.runner import replay
from shared.runner.batch import BatchHandler
from shared.service import Output
from shared.store.models import Deadline, ProcessedEvent

# A fired deadline whose events are still not published after this long was fired by an
# instance that died before its Kafka commit: publish them again (same event ids).
REPUBLISH_AFTER = dt.timedelta(seconds=30)


def fire_due(batch: BatchHandler, limit: int = 200) -> tuple[list[str], list[Output]]:
    """Fires the due deadlines of the service's kinds; returns their ids and the outputs to publish."""
    service, group, now = batch.service, batch.group, batch.clock()
    fired: list[tuple[str, list[Output]]] = []
    with batch.sessions.begin() as session:
        due = session.scalars(select(Deadline).where(
            Deadline.kind.in_(service.deadline_handlers), Deadline.fired_at.is_(None),
            Deadline.cancelled_at.is_(None), Deadline.due_at <= now).order_by(Deadline.due_at).limit(limit)).all()
        for deadline in due:
            claimed = session.execute(update(Deadline).where(
                Deadline.deadline_id == deadline.deadline_id, Deadline.fired_at.is_(None),
                Deadline.cancelled_at.is_(None)).values(fired_at=now)).rowcount
            if not claimed:
                continue  # another instance fired it first
            cause = f"deadline:{deadline.deadline_id}"
            ctx = batch.context(cause, deadline.payload.get("correlation_id", cause), session)
            service.deadline_handlers[deadline.kind](deadline, ctx)
            replay.record_processed(session, group, cause, ctx.outputs, now)
            fired.append((deadline.deadline_id, ctx.outputs))
            metrics.DEADLINES_FIRED.labels(service.name, deadline.kind).inc()
        stale = session.execute(select(Deadline.deadline_id, ProcessedEvent.outputs).join(
            ProcessedEvent, (ProcessedEvent.consumer == group)
            & (ProcessedEvent.event_id == "deadline:" + Deadline.deadline_id)).where(
            Deadline.kind.in_(service.deadline_handlers), Deadline.published.is_(False),
            Deadline.fired_at <= now - REPUBLISH_AFTER)).all()
        fired.extend((deadline_id, replay.unpack(outputs)) for deadline_id, outputs in stale)
    return [deadline_id for deadline_id, _ in fired], [output for _, outputs in fired for output in outputs]


def mark_published(batch: BatchHandler, deadline_ids: list[str]) -> None:
    with batch.sessions.begin() as session:
        session.execute(update(Deadline).where(Deadline.deadline_id.in_(deadline_ids)).values(published=True))
