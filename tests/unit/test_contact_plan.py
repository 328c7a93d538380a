"""`decide_plan` (a lead's channels decided in one call) equals `decide` asked for each request in turn,
as the requests were made one by one: over a generated grid of consent states, times of day, daily caps,
earlier sends and channel plans."""

import datetime as dt
import itertools
import random

import pytest

from shared.domain.contact_rules import (ANY_HOURS, Blocked, Channel, ConsentState, ContactPolicy, Send, Verdict,
                                         decide, decide_plan, in_hours)

ICT = dt.timezone(dt.timedelta(hours=7))
DAY = dt.timedelta(hours=24)


def per_request(emails, mobiles, calls, consents, recent, now, policy):
    """The plan as the requests were decided one at a time: each reads its contact's consent and its
    sends so far (the earlier ones and this plan's own), and a refusal or a wait for the hours is kept."""
    made: dict[tuple[Channel, str], list[dt.datetime]] = {}
    verdicts = []

    def one(channel, contact, marketing):
        consent = consents.get(contact, ConsentState.unknown())
        sends = [*recent.get((channel, contact), ()), *made.get((channel, contact), ())] \
            if marketing and consent.allows_marketing(channel) else []
        decision = decide(channel, marketing, consent, sends, now, policy)
        if isinstance(decision, Blocked):
            kept = decision.reason
        elif marketing and decision.not_before is not None and not in_hours(
                now, consent.hours_agreed(channel) or policy.hours(channel), policy.timezone):
            kept = "hours"
        else:
            kept = None
        if isinstance(decision, Send) and marketing:
            made.setdefault((channel, contact), []).append(decision.not_before or now)
        return Verdict(channel, contact, decision, kept)

    verdicts += [one(Channel.EMAIL, address, True) for address in emails]
    verdicts += [one(Channel.SMS, mobile, True) for mobile in mobiles]
    for number, marketing in calls:
        verdicts.append(one(Channel.CALL, number, marketing))
        if isinstance(verdicts[-1].decision, Send):
            break
    return verdicts


def consent_states():
    """Every combination of grants, withdrawals, the Do-Not-Call list, erasure and agreed hours."""
    states = [ConsentState.unknown(), ConsentState(erased=True)]
    channels = [frozenset(c) for n in range(4) for c in itertools.combinations(Channel, n)]
    for granted, withdrawn in itertools.product(channels, [frozenset(), frozenset({Channel.SMS}),
                                                          frozenset({Channel.CALL, Channel.EMAIL})]):
        for dnc in (False, True):
            states.append(ConsentState(granted=granted - withdrawn, withdrawn=withdrawn, dnc_listed=dnc))
    states.append(ConsentState.unknown().apply("granted", "all", ANY_HOURS))
    states.append(ConsentState.unknown().apply("granted", "call", (dt.time(18), dt.time(21))))
    states.append(ConsentState.unknown().apply("granted", "sms", (dt.time(20), dt.time(6))))
    return states


STATES = consent_states()
POLICIES = [ContactPolicy(), ContactPolicy(daily_caps={Channel.SMS: 1, Channel.EMAIL: 0, Channel.CALL: 2}),
            ContactPolicy(sms_hours=None, call_hours=(dt.time(9), dt.time(11)), email_hours=(dt.time(8), dt.time(9)))]
TIMES = [dt.datetime(2026, 3, 10, hour, minute, tzinfo=ICT) for hour, minute in
         ((3, 0), (7, 0), (8, 30), (10, 0), (16, 59), (17, 0), (21, 30), (22, 0))]


def random_plan(rng: random.Random, now: dt.datetime):
    contacts = ["a@x.vn", "b@x.vn", "+84912000001", "+84912000002", "+84243000003"]
    emails = rng.sample(contacts[:2], rng.randint(0, 2))
    emails += rng.choice([[], [], emails[:1]])  # an address twice: its own first send counts to its cap
    mobiles = rng.sample(contacts[2:4], rng.randint(0, 2))
    mobiles += rng.choice([[], [], mobiles[:1]])
    calls = [(number, rng.random() < 0.8) for number in rng.sample(contacts[2:], rng.randint(0, 3))]
    consents = {contact: rng.choice(STATES) for contact in contacts if rng.random() < 0.85}
    recent = {}
    for channel, contact in itertools.product(Channel, contacts):
        count = rng.choice((0, 0, 1, 2, 3, 4))
        recent[channel, contact] = sorted(now - dt.timedelta(minutes=rng.randint(-600, 1500)) for _ in range(count))
    return emails, mobiles, calls, consents, recent


@pytest.mark.parametrize("policy", POLICIES, ids=["legal", "small caps", "other hours"])
def test_a_lead_s_plan_decided_in_one_call_equals_each_request_decided_in_turn(policy):
    rng = random.Random(17)
    checked = blocked = waits = sent = 0
    for now in TIMES:
        for _ in range(400):
            emails, mobiles, calls, consents, recent = random_plan(rng, now)
            expected = per_request(emails, mobiles, calls, consents, recent, now, policy)
            # Only the (channel, contact) pairs whose marketing the consent allows need their sends.
            needed = {key: sends for key, sends in recent.items()
                      if consents.get(key[1], ConsentState.unknown()).allows_marketing(key[0])}
            assert decide_plan(emails, mobiles, calls, consents, needed, now, policy) == expected
            checked += len(expected)
            blocked += sum(isinstance(v.decision, Blocked) for v in expected)
            waits += sum(v.kept == "hours" for v in expected)
            sent += sum(isinstance(v.decision, Send) for v in expected)
    # The grid reaches every kind of verdict.
    assert checked > 5_000 and blocked and waits and sent


def test_each_consent_state_and_hour_gives_the_per_channel_decision():
    policy = ContactPolicy()
    for consent, now in itertools.product(STATES, TIMES):
        recent = {(channel, "c"): [now - dt.timedelta(hours=2)] for channel in Channel}
        plan = decide_plan(["c"], ["c"], [("c", True)], {"c": consent}, recent, now, policy)
        assert plan == per_request(["c"], ["c"], [("c", True)], {"c": consent}, recent, now, policy), (consent, now)


def test_a_call_the_customer_asked_for_is_not_marketing_and_the_calls_stop_at_the_first_allowed():
    now = TIMES[0]  # 03:00 in Vietnam: no marketing call now
    consents = {"+84912000001": ConsentState(), "+84912000002": ConsentState(erased=True)}
    plan = decide_plan([], [], [("+84912000002", False), ("+84912000001", True), ("+84912000003", False),
                                ("+84912000004", False)], consents, {}, now)
    assert plan == [Verdict(Channel.CALL, "+84912000002", Blocked("erased"), "erased"),
                    Verdict(Channel.CALL, "+84912000001", Blocked("no_consent"), "no_consent"),
                    Verdict(Channel.CALL, "+84912000003", Send(None), None)]


def test_the_sends_of_a_marketing_request_the_consent_allows_are_required():
    granted = ConsentState.unknown().apply("granted", "all")
    with pytest.raises(KeyError):
        decide_plan(["a@x.vn"], [], [], {"a@x.vn": granted}, {}, TIMES[3])
    # Refused ones need none.
    assert decide_plan(["a@x.vn"], [], [], {}, {}, TIMES[3])[0].decision == Blocked("no_consent")
