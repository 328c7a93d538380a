"""Profile ledger: what careflow told the agent on each answered call, prompt or skip and why,
per channel, and the call-backs owed after dropped calls until a call-ended closes them, for
`careflow profiles`. Recorded from the events, off the eligibility hot path."""

from __future__ import annotations

from sqlalchemy import select

from shared.service import Context, Service
from shared.store.models import ProfileCallback, ProfileDecision
from shared.privacy import erasure


def _record(event, ctx: Context, prompted: bool, skip_reasons: list[str]) -> None:
    ctx.session.merge(ProfileDecision(
        call_id=event.call_id, msisdn=event.msisdn, channel=event.channel or "unknown", prompted=prompted,
        priority=event.priority, skip_reasons=skip_reasons, decided_at=event.envelope.occurred_at))


def on_prompted(event, ctx: Context) -> None:
    _record(event, ctx, True, [])


def on_skipped(event, ctx: Context) -> None:
    _record(event, ctx, False, list(event.skip_reasons))


def on_call_requested(event, ctx: Context) -> None:
    if event.purpose == "profile_callback":
        ctx.session.merge(ProfileCallback(
            request_id=event.envelope.event_id, msisdn=event.subject_id, number=event.to,
            callback_for=event.callback_for, missing_fields=list(event.missing_fields),
            requested_at=event.envelope.occurred_at))


def on_call_ended(event, ctx: Context) -> None:
    """Closes the call-back the call carried out: the one it names, else the oldest open one of the subscriber."""
    if event.subject_type != "subscriber":
        return
    callback = ctx.session.get(ProfileCallback, event.request_id) if event.request_id else None
    if callback is None:
        callback = ctx.session.scalars(select(ProfileCallback).where(
            ProfileCallback.msisdn == event.subject_id, ProfileCallback.closed_at.is_(None))
            .order_by(ProfileCallback.requested_at).limit(1)).first()
    if callback is not None and callback.closed_at is None:
        callback.closed_at, callback.disposition = ctx.now(), event.disposition


SERVICE = Service(name="profile-ledger", handlers={
    "profile-prompted": on_prompted, "profile-skipped": on_skipped,
    "call-requested": on_call_requested, "call-ended": on_call_ended,
    "subject-erasure-requested": erasure.handler("profile_decisions", "profile_callbacks")})
