"""Profile ledger: what careflow told the agent on each answered call, prompt or skip and why,
per channel, for `careflow profiles`. Recorded from the events, off the eligibility hot path."""

from __future__ import annotations

from shared.service import Context, Service
from shared.store.models import ProfileDecision
from shared.privacy import erasure


def _record(event, ctx: Context, prompted: bool, skip_reasons: list[str]) -> None:
    ctx.session.merge(ProfileDecision(
        call_id=event.call_id, msisdn=event.msisdn, channel=event.channel or "unknown", prompted=prompted,
        priority=event.priority, skip_reasons=skip_reasons, decided_at=event.envelope.occurred_at))


def on_prompted(event, ctx: Context) -> None:
    _record(event, ctx, True, [])


def on_skipped(event, ctx: Context) -> None:
    _record(event, ctx, False, list(event.skip_reasons))


SERVICE = Service(name="profile-ledger", handlers={"profile-prompted": on_prompted, "profile-skipped": on_skipped,
                                                  "subject-erasure-requested": erasure.handler("profile_decisions")})
