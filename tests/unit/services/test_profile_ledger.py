"""The profile ledger's handlers in-process: what careflow told the agent on each answered call,
prompt or skip and why, per channel."""

from __future__ import annotations

from services import load
from shared.store.models import ProfileDecision
from tests.handlers import InProcess


def decisions(ledger: InProcess) -> dict[str, tuple]:
    with ledger.session() as session:
        return {d.call_id: (d.msisdn, d.channel, d.prompted, d.priority, d.skip_reasons, d.decided_at)
                for d in session.query(ProfileDecision)}


def test_prompts_and_skips_are_recorded_with_their_reasons_channel_and_time():
    ledger = InProcess(load("profile-ledger"))
    assert ledger.handle("profile-prompted", call_id="c1", msisdn="+84901000001", fields_to_collect=["occupation"],
                         priority=False, persuade=False, script="…", channel="call_centre").outputs == []
    ledger.handle("profile-skipped", call_id="c4", msisdn="+84901000004", skip_reasons=["outside_hours"],
                  priority=True, channel=None)
    assert decisions(ledger) == {
        "c1": ("+84901000001", "call_centre", True, False, [], ledger.now),
        "c4": ("+84901000004", "unknown", False, True, ["outside_hours"], ledger.now)}


def test_a_call_decided_again_keeps_one_record_the_latest():
    ledger = InProcess(load("profile-ledger"))
    ledger.handle("profile-skipped", call_id="c1", msisdn="+84901000001", skip_reasons=["difficult_customer"],
                  priority=False, channel="call_centre")
    ledger.handle("profile-prompted", call_id="c1", msisdn="+84901000001", priority=False, persuade=False,
                  script="…", channel="call_centre")
    assert decisions(ledger)["c1"][2:5] == (True, False, [])
