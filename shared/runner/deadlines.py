"""Firing deadlines (timers kept in the store, `shared.store.deadlines`): each due deadline is
claimed once across every instance, its handler's outputs stored with it, and published in a Kafka
transaction together with a record of it in the service's ledger of fired deadlines
(`shared.kafka.topics.fired_deadlines_topic`).

A firing still not marked published after REPUBLISH_AFTER was left by an instance that died or
failed between its store commit and its mark. Whether its Kafka transaction committed is the
ledger's to tell, not the store's: the ledger is read in the committed view, the firings found there
are marked published, and only the others are claimed again and published (same event ids)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from shared.observability import metrics
from shared.runner import replay
from shared.runner.batch import BatchHandler
from shared.service import Output
from shared.store.models import Deadline, ProcessedEvent

REPUBLISH_AFTER = dt.timedelta(seconds=30)
# The ledger answers for this long; a firing left unpublished longer than that (its service away for a
# week) is published again whatever the ledger says.
LEDGER_RETENTION = dt.timedelta(days=7)


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
    return [deadline_id for deadline_id, _ in fired], [output for _, outputs in fired for output in outputs]


def unpublished(batch: BatchHandler) -> dict[str, dt.datetime]:
    """The firings of the service's kinds not marked published REPUBLISH_AFTER after they were claimed:
    their ids and when they were claimed."""
    with batch.sessions() as session:
        return dict(session.execute(select(Deadline.deadline_id, Deadline.fired_at).where(
            Deadline.kind.in_(batch.service.deadline_handlers), Deadline.published.is_(False),
            Deadline.fired_at <= batch.clock() - REPUBLISH_AFTER)).all())


def claim_again(batch: BatchHandler, claimed_at: dict[str, dt.datetime]) -> tuple[list[str], list[Output]]:
    """Claims the firings `claimed_at` (known not to be in the ledger) for this instance, each only if no
    other instance claimed it since; returns their ids and their stored outputs, to publish again."""
    now = batch.clock()
    again: list[str] = []
    with batch.sessions.begin() as session:
        for deadline_id, fired_at in claimed_at.items():
            if session.execute(update(Deadline).where(
                    Deadline.deadline_id == deadline_id, Deadline.fired_at == fired_at,
                    Deadline.published.is_(False)).values(fired_at=now)).rowcount:
                again.append(deadline_id)
        stored = session.execute(select(ProcessedEvent.outputs).where(
            ProcessedEvent.consumer == batch.group,
            ProcessedEvent.event_id.in_([f"deadline:{deadline_id}" for deadline_id in again]))).scalars()
        outputs = [output for blob in stored for output in replay.unpack(blob)]
    return again, outputs


def mark_published(batch: BatchHandler, deadline_ids: list[str]) -> None:
    with batch.sessions.begin() as session:
        session.execute(update(Deadline).where(Deadline.deadline_id.in_(deadline_ids)).values(published=True))
