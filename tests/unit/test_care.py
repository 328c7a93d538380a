import datetime as dt
import json

import pytest

from shared.domain.care import (
    CareCase, CareKind, CarePolicy, CaseStatus, Escalation, assign, breach, case_from_dict,
    case_to_dict, escalated_payload, open_case, opened_payload, pause, reopen, resolve, resume,
    route, should_reopen,
)

VN = dt.timezone(dt.timedelta(hours=7))
T0 = dt.datetime(2025, 8, 1, 9, 0, tzinfo=VN)
H = dt.timedelta(hours=1)
US = dt.timedelta(microseconds=1)
POLICY = CarePolicy()


def case(kind=CareKind.PICKUP_URGING, province="79", now=T0, policy=POLICY):
    return open_case("c1", "lead-1", kind, province, now, policy)


# --- routing ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, province, owner", [
    (CareKind.PICKUP_URGING, "79", "BDT-79"),
    (CareKind.PICKUP_URGING, "01", "BDT-01"),
    (CareKind.PICKUP_URGING, "1", "BDT-01"),
    (CareKind.PICKUP_URGING, None, "TCT"),
    (CareKind.PICKUP_URGING, "", "TCT"),
    (CareKind.PICKUP_URGING, "99", "TCT"),
    (CareKind.PICKUP_URGING, "??", "TCT"),
    (CareKind.CONSULT_SERVICE, "79", "HOTLINE"),
    (CareKind.CONSULT_SOFTWARE, None, "HOTLINE"),
    (CareKind.COMPLAINT, "79", "COMPLAINTS"),
    ("complaint", None, "COMPLAINTS"),
])
def test_route(kind, province, owner):
    assert route(kind, province, POLICY) == owner


def test_complaint_sla_is_the_shortest():
    slas = {kind: POLICY.sla(kind) for kind in CareKind}
    assert slas[CareKind.COMPLAINT] == 8 * H
    assert all(slas[CareKind.COMPLAINT] < sla for kind, sla in slas.items() if kind != CareKind.COMPLAINT)


def test_open_case_sets_owner_and_deadline():
    c = case(CareKind.COMPLAINT, "48")
    assert (c.owner, c.level, c.status, c.province_code) == ("COMPLAINTS", 0, CaseStatus.OPEN, "48")
    assert c.sla_due_at == T0 + 8 * H
    p = case(CareKind.PICKUP_URGING, "48")
    assert (p.owner, p.sla_due_at) == ("BDT-48", T0 + 48 * H)


def test_naive_datetime_rejected():
    with pytest.raises(ValueError):
        open_case("c1", "lead-1", CareKind.COMPLAINT, None, dt.datetime(2025, 8, 1), POLICY)


# --- SLA clock and breach -------------------------------------------------------------------------

def test_breach_exactly_at_deadline_escalates_one_microsecond_before_does_not():
    c = case(CareKind.COMPLAINT)
    assert breach(c, c.sla_due_at - US, POLICY) is None
    result = breach(c, c.sla_due_at, POLICY)
    assert result is not None
    escalated, esc = result
    assert esc == Escalation(level=1, from_owner="COMPLAINTS", to_owner="COMPLAINTS-LEAD",
                             breached_at=T0 + 8 * H, sla_due_at=T0 + 16 * H)
    assert (escalated.level, escalated.owner, escalated.sla_due_at) == (1, "COMPLAINTS-LEAD", T0 + 16 * H)


def test_deadline_fires_once():
    c = case(CareKind.COMPLAINT)
    escalated, _ = breach(c, c.sla_due_at, POLICY)
    # the same timer delivered twice: the second firing is stale
    assert breach(escalated, c.sla_due_at, POLICY) is None
    assert breach(escalated, c.sla_due_at + dt.timedelta(seconds=5), POLICY, deadline=c.sla_due_at) is None


def test_second_breach_escalates_again_up_the_ladder_bdt_tct_board():
    c = case(CareKind.PICKUP_URGING, "79")
    c1, e1 = breach(c, c.sla_due_at, POLICY)
    assert (e1.level, e1.from_owner, e1.to_owner) == (1, "BDT-79", "TCT")
    assert c1.sla_due_at == c.sla_due_at + 48 * H  # fresh SLA period
    c2, e2 = breach(c1, c1.sla_due_at, POLICY)
    assert (e2.level, e2.from_owner, e2.to_owner) == (2, "TCT", "TCT-BOARD")
    c3, e3 = breach(c2, c2.sla_due_at, POLICY)  # top of the ladder: level rises, owner stays
    assert (e3.level, e3.from_owner, e3.to_owner, c3.owner) == (3, "TCT-BOARD", "TCT-BOARD", "TCT-BOARD")


def test_hotline_ladder():
    c = case(CareKind.CONSULT_SOFTWARE)
    c1, e1 = breach(c, c.sla_due_at, POLICY)
    c2, e2 = breach(c1, c1.sla_due_at, POLICY)
    assert [e1.to_owner, e2.to_owner] == ["HOTLINE-LEAD", "TCT"]
    assert c2.level == 2


def test_escalated_sla_is_configurable():
    policy = CarePolicy(escalated_sla=2 * H)
    c = case(CareKind.COMPLAINT, policy=policy)
    late = c.sla_due_at + 30 * dt.timedelta(minutes=1)
    c1, e1 = breach(c, late, policy)
    assert e1.breached_at == c.sla_due_at
    assert c1.sla_due_at == late + 2 * H


def test_pause_then_resume_extends_deadline_by_paused_time():
    c = case(CareKind.COMPLAINT)
    paused = pause(c, T0 + 3 * H)
    assert paused.status == CaseStatus.WAITING_ON_CUSTOMER
    assert (paused.sla_due_at, paused.remaining, paused.paused_at) == (None, 5 * H, T0 + 3 * H)
    resumed = resume(paused, T0 + 10 * H)
    assert resumed.status == CaseStatus.OPEN
    assert resumed.sla_due_at == c.sla_due_at + 7 * H == T0 + 15 * H
    assert (resumed.remaining, resumed.paused_at) == (None, None)


def test_pause_paused_and_resume_running_are_noops():
    c = case()
    assert resume(c, T0 + H) is c
    paused = pause(c, T0 + H)
    assert pause(paused, T0 + 2 * H) is paused


def test_breach_while_paused_does_nothing_and_old_deadline_is_stale_after_resume():
    c = case(CareKind.COMPLAINT)
    paused = pause(c, T0 + 3 * H)
    assert breach(paused, c.sla_due_at, POLICY) is None
    assert breach(paused, c.sla_due_at + 100 * H, POLICY) is None
    resumed = resume(paused, T0 + 10 * H)
    assert breach(resumed, c.sla_due_at, POLICY) is None  # old deadline, moved later
    assert breach(resumed, resumed.sla_due_at, POLICY) is not None


def test_pause_after_deadline_keeps_zero_remaining_and_breaches_on_resume():
    c = case(CareKind.COMPLAINT)
    paused = pause(c, c.sla_due_at + H)  # the breach timer had not been processed yet
    assert paused.remaining == dt.timedelta(0)
    resumed = resume(paused, T0 + 20 * H)
    assert resumed.sla_due_at == T0 + 20 * H
    assert breach(resumed, T0 + 20 * H, POLICY) is not None


def test_breach_after_resolve_does_nothing():
    c = case(CareKind.COMPLAINT)
    done = resolve(c, T0 + H, outcome="answered", resolution="explained the fee")
    assert (done.status, done.sla_due_at, done.resolved_at) == (CaseStatus.RESOLVED, None, T0 + H)
    assert (done.outcome, done.resolution) == ("answered", "explained the fee")
    assert breach(done, c.sla_due_at, POLICY) is None
    assert resolve(done, T0 + 2 * H) is done


def test_resolve_while_paused_clears_clock():
    done = resolve(pause(case(), T0 + H), T0 + 2 * H)
    assert (done.status, done.paused_at, done.remaining) == (CaseStatus.RESOLVED, None, None)


def test_assign():
    c = assign(case(), "agent-7")
    assert c.assignee == "agent-7"
    with pytest.raises(ValueError):
        assign(resolve(c, T0 + H), "agent-8")


# --- reopening -------------------------------------------------------------------------------------

def test_reopen_within_window_vs_new_case_after():
    c, _ = breach(case(CareKind.PICKUP_URGING, "79"), T0 + 48 * H, POLICY)
    done = resolve(assign(c, "agent-1"), T0 + 50 * H, outcome="picked_up")
    window_end = done.resolved_at + dt.timedelta(days=7)
    assert should_reopen(done, CareKind.PICKUP_URGING, window_end, POLICY)
    assert not should_reopen(done, CareKind.PICKUP_URGING, window_end + US, POLICY)
    assert not should_reopen(done, CareKind.COMPLAINT, done.resolved_at + H, POLICY)  # other matter
    assert not should_reopen(c, CareKind.PICKUP_URGING, T0 + 49 * H, POLICY)  # still open

    again = reopen(done, T0 + 60 * H, POLICY)
    assert again.case_id == done.case_id
    assert (again.status, again.level, again.owner, again.reopen_count) == (CaseStatus.OPEN, 0, "BDT-79", 1)
    assert again.sla_due_at == T0 + 60 * H + 48 * H
    assert (again.resolved_at, again.assignee, again.outcome) == (None, None, None)
    assert opened_payload(again, "req-2")["reopened"] is True
    assert opened_payload(case(), "req-1")["reopened"] is False


def test_reopen_window_is_configurable_and_only_resolved_reopens():
    policy = CarePolicy.from_mapping({"reopen_window_hours": 24})
    done = resolve(case(policy=policy), T0 + H)
    assert should_reopen(done, "pickup_urging", T0 + 25 * H, policy)
    assert not should_reopen(done, "pickup_urging", T0 + 25 * H + US, policy)
    with pytest.raises(ValueError):
        reopen(case(), T0 + H, POLICY)


# --- configuration ---------------------------------------------------------------------------------

def test_from_mapping_builds_policy():
    policy = CarePolicy.from_mapping({
        "kinds": {"complaint": {"sla_hours": 4}, "consult_service": {"queue": "CS", "sla_hours": 12.5}},
        "escalation_ladder": {"BDT-*": "TCT", "CS": "TCT"},
        "escalated_sla_hours": 6,
    })
    assert policy.sla(CareKind.COMPLAINT) == 4 * H
    assert policy.sla(CareKind.CONSULT_SERVICE) == dt.timedelta(hours=12.5)
    assert policy.sla(CareKind.PICKUP_URGING) == 48 * H  # default kept
    assert route(CareKind.CONSULT_SERVICE, None, policy) == "CS"
    assert policy.next_owner("BDT-01") == "TCT"
    assert policy.next_owner("HOTLINE") is None  # ladder replaced as a whole
    assert policy.escalated_sla == 6 * H
    assert policy.reopen_window == dt.timedelta(days=7)
    assert CarePolicy.from_mapping({}) == CarePolicy()


@pytest.mark.parametrize("config, named", [
    ({"reopen_window": 3}, "reopen_window"),
    ({"kinds": {"refund": {"sla_hours": 1}}}, "refund"),
    ({"kinds": {"complaint": {"sla": 1}}}, "sla"),
    ({"kinds": {"complaint": {"sla_hours": "8"}}}, "kinds.complaint.sla_hours"),
    ({"escalated_sla_hours": True}, "escalated_sla_hours"),
])
def test_config_errors_name_the_bad_key(config, named):
    with pytest.raises(ValueError, match=named):
        CarePolicy.from_mapping(config)


def test_config_rejects_non_positive_sla():
    with pytest.raises(ValueError, match="complaint"):
        CarePolicy.from_mapping({"kinds": {"complaint": {"sla_hours": 0}}})


# --- serialization ---------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: case(),
    lambda: pause(assign(case(CareKind.COMPLAINT, None), "agent-1"), T0 + dt.timedelta(hours=1, microseconds=7)),
    lambda: breach(case(CareKind.CONSULT_SERVICE), T0 + 30 * H, POLICY)[0],
    lambda: resolve(case(), T0 + H, outcome="done", resolution="ok"),
    lambda: reopen(resolve(case(), T0 + H), T0 + 2 * H, POLICY),
])
def test_round_trip(make):
    c = make()
    d = json.loads(json.dumps(case_to_dict(c)))
    assert case_from_dict(d) == c
    assert isinstance(case_from_dict(d), CareCase)


def test_escalated_payload_matches_schema_fields():
    c, esc = breach(case(), T0 + 48 * H, POLICY)
    assert set(escalated_payload(c, esc)) == {"case_id", "customer_id", "level", "from_owner", "to_owner",
                                              "breached_at", "sla_due_at"}
