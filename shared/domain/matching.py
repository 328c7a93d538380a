"""Which lead an inbound hotline call is about (SPEC A6: a customer who calls the 1900 hotline).

The telephony platform knows the caller's number, and the agent may type the enterprise's tax
code; careflow's lead id, when the platform has it, is still taken. The tax code an agent typed
wins over the number (a number may be shared by an accountant serving several enterprises)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Matched:
    lead_id: str
    by: str  # lead_id | tax_code | number


@dataclass(frozen=True)
class Unmatched:
    reason: str  # unmatched | ambiguous
    candidates: tuple[str, ...] = ()


def match_inbound(given_lead: str | None, given_is_known: bool, by_tax_code: list[str],
                  by_number: list[str]) -> Matched | Unmatched:
    """`by_tax_code` and `by_number`: the leads whose tax code / any contact equals what the call
    carries, once normalized."""
    if given_lead and given_is_known:
        return Matched(given_lead, "lead_id")
    for found, by in ((sorted(set(by_tax_code)), "tax_code"), (sorted(set(by_number)), "number")):
        if len(found) == 1:
            return Matched(found[0], by)
        if found:
            return Unmatched("ambiguous", tuple(found))
    if given_lead:
        return Matched(given_lead, "lead_id")  # a lead careflow has not seen yet: its id is the platform's word
    return Unmatched("unmatched")
