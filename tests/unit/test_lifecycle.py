"""The lead's lifecycle: every state against every happening."""

from __future__ import annotations

import pytest

from shared.domain.lifecycle import Happening as H, LeadState, Moved, Refused, Stage as S, Stayed, transition, worked

BDT = "BDT-01"
IMPORTED, NORMALIZED, OUTREACH = LeadState(S.IMPORTED), LeadState(S.NORMALIZED), LeadState(S.IN_OUTREACH)
SUPPORTED, ESCALATED = LeadState(S.SUPPORTED), LeadState(S.ESCALATED, BDT)
RETURNED, CLOSED = LeadState(S.RETURNED_TO_TCT, "TCT"), LeadState(S.CLOSED_INACTIVE, BDT)


@pytest.mark.parametrize("state, happening, by, expected", [
    # the way forward
    (None, H.IMPORTED, None, Stayed(IMPORTED)),
    (None, H.NORMALIZED, None, Moved(NORMALIZED)),
    (IMPORTED, H.NORMALIZED, None, Moved(NORMALIZED)),
    (NORMALIZED, H.OUTREACH_STARTED, None, Moved(OUTREACH)),
    (OUTREACH, H.OUTREACH_STARTED, None, Stayed(OUTREACH)),
    (OUTREACH, H.SUPPORTED, None, Moved(SUPPORTED)),
    (OUTREACH, H.ESCALATED, BDT, Moved(ESCALATED)),
    (IMPORTED, H.ESCALATED, BDT, Moved(ESCALATED)),        # inactive or unknown at normalization
    (NORMALIZED, H.ESCALATED, BDT, Moved(ESCALATED)),      # insufficient contacts
    (ESCALATED, H.RETURNED, BDT, Moved(RETURNED)),
    (ESCALATED, H.SUPPORTED, None, Moved(LeadState(S.SUPPORTED, BDT))),  # the post office reached them
    # a re-import changes nothing of a known lead
    (OUTREACH, H.IMPORTED, None, Stayed(OUTREACH)),
    (ESCALATED, H.IMPORTED, None, Stayed(ESCALATED)),
    (OUTREACH, H.NORMALIZED, None, Stayed(OUTREACH)),
    (SUPPORTED, H.NORMALIZED, None, Stayed(SUPPORTED)),
    (SUPPORTED, H.SUPPORTED, None, Stayed(SUPPORTED)),      # helped twice: announced once
    (RETURNED, H.RETURNED, BDT, Stayed(RETURNED)),
    (ESCALATED, H.ESCALATED, BDT, Stayed(ESCALATED)),   # a re-import finds it inactive again: not announced twice
    # the lead worked by its owner (lead-worked)
    (ESCALATED, H.WORKED_SUPPORTED, BDT, Moved(LeadState(S.SUPPORTED, BDT))),
    (ESCALATED, H.WORKED_CONTACT_FOUND, BDT, Moved(OUTREACH)),
    (ESCALATED, H.WORKED_CLOSED_INACTIVE, BDT, Moved(CLOSED)),
    (ESCALATED, H.WORKED_CLOSED_INACTIVE, "TCT", Moved(CLOSED)),  # TCT supervises every province
    (RETURNED, H.WORKED_SUPPORTED, "TCT", Moved(LeadState(S.SUPPORTED, "TCT"))),
    (RETURNED, H.WORKED_CONTACT_FOUND, "TCT", Moved(OUTREACH)),
    (CLOSED, H.SUPPORTED, None, Moved(LeadState(S.SUPPORTED, BDT))),  # it called the hotline after all
])
def test_moves_the_lifecycle_allows(state, happening, by, expected):
    assert transition(state, happening, by) == expected


@pytest.mark.parametrize("state, happening, by, reason", [
    (SUPPORTED, H.ESCALATED, BDT, "escalation to BDT-01 of a lead supported"),
    (ESCALATED, H.ESCALATED, "BDT-79", "escalation to BDT-79 of a lead escalated (owner BDT-01)"),
    (RETURNED, H.ESCALATED, BDT, "escalation to BDT-01 of a lead returned_to_tct (owner TCT)"),  # over a hand-back
    (CLOSED, H.ESCALATED, BDT, "escalation to BDT-01 of a lead closed_inactive"),
    (OUTREACH, H.ESCALATED, None, "an escalation without an owner"),
    (SUPPORTED, H.OUTREACH_STARTED, None, "outreach on a lead supported"),
    (ESCALATED, H.OUTREACH_STARTED, None, "outreach on a lead escalated (owner BDT-01)"),
    (IMPORTED, H.OUTREACH_STARTED, None, "outreach on a lead imported"),
    (ESCALATED, H.RETURNED, "BDT-79", "hand-back by BDT-79 of a lead escalated (owner BDT-01)"),
    (LeadState(S.ESCALATED, "TCT"), H.RETURNED, "TCT", "hand-back by TCT of a lead escalated (owner TCT)"),
    (OUTREACH, H.RETURNED, BDT, "hand-back by BDT-01 of a lead in_outreach"),
    (OUTREACH, H.WORKED_SUPPORTED, BDT, "worked_supported by BDT-01 on a lead in_outreach"),
    (SUPPORTED, H.WORKED_CLOSED_INACTIVE, BDT, "worked_closed_inactive by BDT-01 on a lead supported"),
    (ESCALATED, H.WORKED_CONTACT_FOUND, "BDT-79", "worked_contact_found by BDT-79 on a lead escalated (owner BDT-01)"),
    (RETURNED, H.WORKED_SUPPORTED, BDT, "worked_supported by BDT-01 on a lead returned_to_tct (owner TCT)"),
])
def test_moves_the_lifecycle_refuses_leave_the_state_as_it_was(state, happening, by, reason):
    assert transition(state, happening, by) == Refused(state, reason)


def test_every_state_answers_every_happening():
    states = [None, IMPORTED, NORMALIZED, OUTREACH, SUPPORTED, ESCALATED, RETURNED, CLOSED]
    for state in states:
        for happening in H:
            assert isinstance(transition(state, happening, BDT), (Moved, Stayed, Refused))


def test_lead_worked_outcomes_name_their_happenings():
    assert [worked(o) for o in ("supported", "contact_found", "closed_inactive")] == [
        H.WORKED_SUPPORTED, H.WORKED_CONTACT_FOUND, H.WORKED_CLOSED_INACTIVE]
