"""The life of a lead (SPEC A1-A7, seed 000 steps 1.1-2.2), one state machine every service asks
before it acts on a lead:

    imported → normalized → in outreach → supported
                    │             │
                    └─────────────┴──→ escalated to an owner (the BĐT of the province, or TCT)
                                           │ handed back by the BĐT → escalated to TCT
                                           └→ worked by its owner: supported / back into outreach
                                              with a new contact / closed as inactive

`transition` is pure: the current state and what happened in, a `Moved` (the new state),
`Stayed` (nothing to change: a repeat, or an event that arrives after its lead moved on, such as a
re-imported list) or `Refused` (the event makes no sense in this state: it must not be acted on).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum

from shared.domain.provinces import TCT


class Stage(StrEnum):
    IMPORTED = "imported"
    NORMALIZED = "normalized"
    IN_OUTREACH = "in_outreach"
    SUPPORTED = "supported"
    ESCALATED = "escalated"
    RETURNED_TO_TCT = "returned_to_tct"
    CLOSED_INACTIVE = "closed_inactive"


class Happening(StrEnum):
    IMPORTED = "imported"                    # lead-imported
    NORMALIZED = "normalized"                # lead-normalized
    OUTREACH_STARTED = "outreach_started"    # the first email-, sms- or call-requested
    SUPPORTED = "supported"                  # customer-supported (a call, the hotline, a BĐT)
    ESCALATED = "escalated"                  # lead-escalated to an owner
    RETURNED = "returned"                    # escalation-returned: the BĐT hands the lead back to TCT
    WORKED_SUPPORTED = "worked_supported"    # lead-worked, outcome supported
    WORKED_CONTACT_FOUND = "worked_contact_found"  # lead-worked, outcome contact_found: outreach again
    WORKED_CLOSED_INACTIVE = "worked_closed_inactive"  # lead-worked, outcome closed_inactive


# Where the owner works the lead; nobody else may escalate it over them.
OWNED = (Stage.ESCALATED, Stage.RETURNED_TO_TCT)
# Where careflow itself is done with the lead.
FINAL = (Stage.SUPPORTED, Stage.CLOSED_INACTIVE)


@dataclass(frozen=True)
class LeadState:
    stage: Stage
    owner: str | None = None  # BDT-<province> or TCT while escalated

    @classmethod
    def new(cls) -> LeadState:
        return cls(Stage.IMPORTED)


@dataclass(frozen=True)
class Moved:
    state: LeadState


@dataclass(frozen=True)
class Stayed:
    state: LeadState


@dataclass(frozen=True)
class Refused:
    state: LeadState
    reason: str


Outcome = Moved | Stayed | Refused


@functools.lru_cache(maxsize=4096)  # pure, of few arguments: a lead's every move asks it (outcomes are immutable)
def transition(state: LeadState | None, happening: Happening, by: str | None = None) -> Outcome:
    """What `happening` does to a lead in `state` (None: never seen). `by` is the owner an
    escalation names, the BĐT handing back, or whoever worked the lead (a BĐT code or TCT)."""
    state = state or LeadState.new()
    stage = state.stage
    match happening:
        case Happening.IMPORTED:
            return Stayed(state)  # a re-import changes nothing of a lead careflow knows
        case Happening.NORMALIZED:
            return Moved(LeadState(Stage.NORMALIZED)) if stage is Stage.IMPORTED else Stayed(state)
        case Happening.OUTREACH_STARTED:
            if stage is Stage.NORMALIZED:
                return Moved(LeadState(Stage.IN_OUTREACH))
            if stage is Stage.IN_OUTREACH:
                return Stayed(state)
            return Refused(state, f"outreach on a lead {_where(state)}")
        case Happening.SUPPORTED:
            # Whoever helps the customer — an agent on the hotline, a BĐT — ends the work on the lead.
            return Stayed(state) if stage is Stage.SUPPORTED else Moved(LeadState(Stage.SUPPORTED, state.owner))
        case Happening.ESCALATED:
            if not by:
                return Refused(state, "an escalation without an owner")
            if stage is Stage.ESCALATED and by == state.owner:
                return Stayed(state)  # the same escalation seen again: nothing to announce twice
            if stage in (*FINAL, *OWNED):
                # Escalated to another owner, handed back to TCT, or done with.
                return Refused(state, f"escalation to {by} of a lead {_where(state)}")
            return Moved(LeadState(Stage.ESCALATED, by))
        case Happening.RETURNED:
            if stage is Stage.ESCALATED and state.owner not in (None, TCT) and by == state.owner:
                return Moved(LeadState(Stage.RETURNED_TO_TCT, TCT))
            if stage is Stage.RETURNED_TO_TCT and by is not None and by != TCT:
                return Stayed(state)  # the same hand-back again
            return Refused(state, f"hand-back by {by} of a lead {_where(state)}")
        case Happening.WORKED_SUPPORTED | Happening.WORKED_CONTACT_FOUND | Happening.WORKED_CLOSED_INACTIVE:
            if stage not in OWNED:
                return Refused(state, f"{happening.value} by {by} on a lead {_where(state)}")
            if by not in (state.owner, TCT):
                return Refused(state, f"{happening.value} by {by} on a lead {_where(state)}")
            return Moved({Happening.WORKED_SUPPORTED: LeadState(Stage.SUPPORTED, state.owner),
                          Happening.WORKED_CONTACT_FOUND: LeadState(Stage.IN_OUTREACH),
                          Happening.WORKED_CLOSED_INACTIVE: LeadState(Stage.CLOSED_INACTIVE, state.owner)}[happening])
    raise ValueError(f"unknown happening {happening!r}")


def worked(outcome: str) -> Happening:
    """The happening of a `lead-worked` outcome (supported, contact_found, closed_inactive)."""
    return Happening(f"worked_{outcome}")


def _where(state: LeadState) -> str:
    return f"{state.stage.value}" + (f" (owner {state.owner})" if state.owner and state.stage in OWNED else "")
