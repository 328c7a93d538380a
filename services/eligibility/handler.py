"""Eligibility (SPEC B1-B3): on every answered call, tell the agent at once whether to collect
gender, occupation and hobbies, how hard to try, and what to say — or why not.

It reads the subscriber directory and writes nothing: the agent is waiting, so the hot path holds
no database write (the profile ledger records the decisions from the events)."""

from __future__ import annotations

from shared.domain.profiles import AnsweredCall, CallReason, CustomerMood, agent_script, decide
from shared.service import Context, Rejected, Service, StoreAccess
from shared.store.models import Subscriber as SubscriberRow


def on_call_answered(event, ctx: Context) -> None:
    row = ctx.session.get(SubscriberRow, event.msisdn)
    if row is None:
        raise Rejected(f"subscriber {event.msisdn} is not in the directory (no subscriber-upserted yet)")
    subscriber = row.profile()
    call = AnsweredCall(call_id=event.call_id, msisdn=event.msisdn, answered_at=event.answered_at,
                        call_reason=CallReason(event.call_reason), caller_is_user=event.caller_is_user,
                        customer_mood=CustomerMood(event.customer_mood))
    decision = decide(call, subscriber)
    if decision.target:
        ctx.emit("profile-prompted", call_id=event.call_id, msisdn=event.msisdn, agent_id=event.agent_id,
                 fields_to_collect=[f.value for f in decision.missing_fields], priority=decision.priority,
                 priority_reasons=[r.value for r in decision.priority_reasons], persuade=decision.persuade,
                 script=agent_script(decision, subscriber), channel=event.channel)
    else:
        ctx.emit("profile-skipped", call_id=event.call_id, msisdn=event.msisdn, agent_id=event.agent_id,
                 skip_reasons=[r.value for r in decision.skip_reasons], priority=decision.priority,
                 channel=event.channel)


def prefetch(events: list, session) -> None:
    """A batch's subscribers in one query: a lookup per call cost more than the rest of its handling."""
    session.prefetch(SubscriberRow, {event.msisdn for event in events})


SERVICE = Service(name="eligibility", emits=("profile-prompted", "profile-skipped"), handlers={"subscriber-call-answered": on_call_answered},
                  store=StoreAccess.READ, prefetch=prefetch)
