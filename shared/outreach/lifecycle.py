"""The lead's lifecycle in the store: every service moves a lead through `move`, which asks the
domain (`shared.domain.lifecycle`), writes the new state, cancels the deadlines that no longer
apply, and records a refused move for operators instead of applying it."""

from __future__ import annotations

import logging
import uuid

from shared.domain.lifecycle import Happening, LeadState, Moved, Outcome, Refused, Stage, transition
from shared.observability.metrics import LIFECYCLE_REFUSED
from shared.outreach.requests import reply_wait_id
from shared.service import Context
from shared.store import Row, deadlines
from shared.store.models import LeadStateRow, LifecycleRefusal

log = logging.getLogger("careflow.lifecycle")


def state_of(ctx: Context, lead_id: str) -> LeadState | None:
    row = ctx.session.get(LeadStateRow, lead_id)
    return None if row is None else LeadState(Stage(row.stage), row.owner)


def move(ctx: Context, lead_id: str, happening: Happening, by: str | None = None) -> Outcome:
    """Applies `happening` to the lead when its lifecycle allows it; the caller acts on a `Moved`
    (and on a `Stayed` where a repeat is harmless), never on a `Refused`."""
    return _apply(ctx, lead_id, ((happening, by),))


def move_through(ctx: Context, lead_id: str, *happenings: Happening) -> Outcome:
    """`move` for each of `happenings` in turn, the lead's state read and written once: the last one's outcome."""
    return _apply(ctx, lead_id, tuple((happening, None) for happening in happenings))


class Moving:
    """A lead's moves in one handler, its state read once (on creation) and written once (`write`):
    `apply` asks the domain for each step at once, records a refused one, and cancels the reply wait
    when a step leaves outreach, as `move` does, so a handler can decide between its moves."""

    __slots__ = ("ctx", "lead_id", "row", "state", "moved")

    def __init__(self, ctx: Context, lead_id: str):
        self.ctx, self.lead_id = ctx, lead_id
        self.row = ctx.session.get(LeadStateRow, lead_id)
        self.state = None if self.row is None else LeadState(Stage(self.row.stage), self.row.owner)
        self.moved = False

    def apply(self, *steps: tuple[Happening, str | None]) -> Outcome:
        """Each (happening, by) in turn: the last one's outcome."""
        ctx, state = self.ctx, self.state
        left_outreach = False
        for happening, by in steps:
            outcome = transition(state, happening, by)
            if isinstance(outcome, Refused):
                refuse(ctx, self.lead_id, happening, outcome.state.stage, outcome.reason)
            elif isinstance(outcome, Moved):
                state, self.moved = outcome.state, True
                left_outreach |= state.stage is not Stage.IN_OUTREACH
        self.state = state
        if left_outreach:
            # Out of outreach (supported on the hotline, escalated): the reply wait no longer applies.
            deadlines.cancel(ctx.session, reply_wait_id(self.lead_id), ctx.now())
        return outcome

    def write(self) -> None:
        """The lead's state after the moves applied, once."""
        if not self.moved:
            return
        state, now = self.state, self.ctx.now()
        if isinstance(self.row, Row) and self.row.written:  # staged earlier in the batch, inserted since
            self.row = self.ctx.session.get(LeadStateRow, self.lead_id)
        if self.row is None:
            self.row = self.ctx.session.stage(LeadStateRow, lead_id=self.lead_id, stage=state.stage.value,
                                              owner=state.owner, updated_at=now)
        else:
            self.row.stage, self.row.owner, self.row.updated_at = state.stage.value, state.owner, now
        self.moved = False


def _apply(ctx: Context, lead_id: str, steps: tuple[tuple[Happening, str | None], ...]) -> Outcome:
    moving = Moving(ctx, lead_id)
    outcome = moving.apply(*steps)
    moving.write()
    return outcome


def ask(ctx: Context, lead_id: str, happening: Happening, by: str | None = None) -> Outcome:
    """What `happening` would do, for a service that reads the store only (the normalizer): the
    consumer of the event it emits moves the lead; a move not made is counted and logged here."""
    outcome = transition(state_of(ctx, lead_id), happening, by)
    if not isinstance(outcome, Moved):
        _count(ctx, happening, outcome.state.stage, getattr(outcome, "reason", "already done"))
    return outcome


def refuse(ctx: Context, lead_id: str, happening: Happening, stage: Stage, reason: str) -> None:
    """Records a move not applied: a row operators see (`careflow funnel`), a counter, a log line."""
    ctx.session.stage(LifecycleRefusal, refusal_id=str(uuid.uuid4()), lead_id=lead_id, service=ctx.service,
                      happening=happening.value, stage=stage.value, reason=reason, refused_at=ctx.now())
    _count(ctx, happening, stage, reason)


def _count(ctx: Context, happening: Happening, stage: Stage, reason: str) -> None:
    LIFECYCLE_REFUSED.labels(ctx.service, happening.value, stage.value).inc()
    # No lead id: it may be a person's ID number; operators find the lead in lifecycle_refusals.
    log.info("lifecycle refused %s in stage %s", happening.value, stage.value,
             extra={"service": ctx.service, "reason": reason})


def allowed(outcome: Outcome) -> bool:
    return not isinstance(outcome, Refused)
