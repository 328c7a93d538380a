"""Which lead an inbound hotline call is about."""

from shared.domain.matching import Matched, Unmatched, match_inbound


def test_a_known_lead_id_is_taken_as_is():
    assert match_inbound("mst:0100233488", True, ["mst:0314409058"], []) == Matched("mst:0100233488", "lead_id")


def test_the_tax_code_the_agent_typed_wins_over_the_number():
    assert match_inbound(None, False, ["mst:A"], ["mst:B", "mst:C"]) == Matched("mst:A", "tax_code")


def test_the_callers_number_when_one_lead_has_it():
    assert match_inbound("", False, [], ["mst:B", "mst:B"]) == Matched("mst:B", "number")


def test_a_number_several_leads_share_is_ambiguous():
    assert match_inbound(None, False, [], ["mst:C", "mst:B"]) == Unmatched("ambiguous", ("mst:B", "mst:C"))


def test_nothing_known_is_unmatched_unless_the_platform_named_a_lead():
    assert match_inbound(None, False, [], []) == Unmatched("unmatched")
    assert match_inbound("mst:0100233488", False, [], []) == Matched("mst:0100233488", "lead_id")
