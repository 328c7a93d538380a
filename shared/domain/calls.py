"""Outbound consultation calls to an enterprise (SPEC A6): which number next, when, or stop.

Mobile first; a wrong person → the landline; no answer or busy → retry the same number on a
schedule with a cap, then the next number; an invalid number is dead, try the next; when no
number is left the lead is escalated as unreachable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class Disposition(StrEnum):
    RIGHT_PERSON = "right_person"
    WRONG_PERSON = "wrong_person"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    INVALID_NUMBER = "invalid_number"
    CALL_BACK = "call_back"
    REFUSED = "refused"
    AGENT_RESOLVED = "agent_resolved"


@dataclass(frozen=True)
class CallPolicy:
    attempts_per_number: int = 3
    retry_spacing: dt.timedelta = dt.timedelta(hours=2)


@dataclass(frozen=True)
class DialNumber:
    e164: str
    is_landline: bool
    dead: bool = False


@dataclass(frozen=True)
class Supported:
    pass


@dataclass(frozen=True)
class Dial:
    number: str
    attempt: int
    not_before: dt.datetime | None
    reason: str


@dataclass(frozen=True)
class Escalate:
    reason: str
    detail: str


CallStep = Supported | Dial | Escalate


def dial_order(numbers: list[DialNumber]) -> list[DialNumber]:
    """Mobiles before landlines, each in the order the list gave them."""
    return sorted(numbers, key=lambda n: n.is_landline)


def first_call(numbers: list[DialNumber]) -> Dial | None:
    live = [n for n in dial_order(numbers) if not n.dead]
    return Dial(live[0].e164, 1, None, "first call") if live else None


def next_step(numbers: list[DialNumber], current: str, attempt: int, disposition: Disposition,
              now: dt.datetime, callback_at: dt.datetime | None = None,
              policy: CallPolicy = CallPolicy(), called: frozenset[str] | None = None) -> CallStep:
    """What follows a call to `current` (its `attempt`-th try) that ended with `disposition`.

    `numbers` marks the numbers already found dead; `current` itself is marked dead by the
    caller when the disposition is INVALID_NUMBER. `called`: the numbers already called for this
    lead; without it, those before `current` in dial order count as called. A number not called
    yet is still to be tried, wherever it stands in the order: after a wrong person on the first
    mobile sends the call to the landline, a second mobile is still called if the landline fails."""
    if disposition in (Disposition.RIGHT_PERSON, Disposition.AGENT_RESOLVED):
        return Supported()
    if disposition is Disposition.REFUSED:
        return Escalate("refused", "the customer declined the consultation")
    if disposition is Disposition.CALL_BACK:
        return Dial(current, 1, callback_at or now + policy.retry_spacing, "call back at the customer's request")
    if disposition in (Disposition.NO_ANSWER, Disposition.BUSY) and attempt < policy.attempts_per_number:
        return Dial(current, attempt + 1, now + policy.retry_spacing, f"retry after {disposition.value}")
    ordered = dial_order(numbers)
    if called is None:
        position = next((i for i, n in enumerate(ordered) if n.e164 == current), -1)
        called = frozenset(n.e164 for n in ordered[:position + 1])
    remaining = [n for n in ordered if not n.dead and n.e164 != current and n.e164 not in called]
    if disposition is Disposition.WRONG_PERSON:
        # The person in charge is more likely behind the enterprise's landline.
        remaining.sort(key=lambda n: not n.is_landline)
    if remaining:
        return Dial(remaining[0].e164, 1, None, f"next number after {disposition.value}")
    return Escalate("unreachable", f"no number left after {disposition.value}")
