"""Requests to the marketing tool and the telephony platform under the contact rules: consent, the
Do-Not-Call list, permitted hours and daily caps apply to every request, whoever makes it (the
segmenter, the replies and call-outcome services, the profile call-back)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from shared.domain import contact_rules as rules
from shared.domain.calls import DialNumber
from shared.domain.messages import outreach_email, outreach_sms
from shared.service import Context
from shared.store import Row, among
from shared.store.models import BlockedRequest, CallTask, Consent, Contact, OutreachRequest

DAY = dt.timedelta(hours=24)
REPLY_WAIT = "reply_wait"
_SENDS, _SENDS_SINCE = "careflow.recent_sends", "careflow.recent_sends_since"
_UNKNOWN = rules.ConsentState.unknown()  # immutable: one for every contact with no consent row
_STATES = "careflow.consent_states"
_CONSENT_SLICE = 10_000


def reply_wait_id(lead_id: str) -> str:
    """The deadline of an e-mail-only lead's wait for a reply."""
    return f"reply-wait:{lead_id}"


def consent_of(ctx: Context, contact: str) -> rules.ConsentState:
    states = ctx.session.info.get(_STATES)
    if states is not None:
        state = states.get(contact)
        if state is not None:
            return state
    row = ctx.session.get(Consent, contact)
    if row is None:
        return _UNKNOWN
    return _state_of(row)


def _state_of(row: Consent | Any) -> rules.ConsentState:
    return _consent_state(tuple(row.granted), tuple(row.withdrawn), row.dnc_listed, row.erased,
                          tuple(sorted((row.agreed_hours or {}).items())))


def prefetch_consents(session: Session, contacts: Iterable[str]) -> None:
    """The consent states of a batch's contacts for `consent_of`, read at once as plain rows (no ORM
    object a row: the rules only read them). What changes a consent in the batch drops its state:
    `record_consent` the contact's, `forget_consents` (an erasure's delete) all of them."""
    wanted = set(contacts)
    if not wanted:
        return
    states = session.info.setdefault(_STATES, {})
    ordered = sorted(wanted)
    columns = (Consent.contact, Consent.granted, Consent.withdrawn, Consent.dnc_listed, Consent.erased,
               Consent.agreed_hours)
    for start in range(0, len(ordered), _CONSENT_SLICE):  # a statement's array of keys stays bounded
        for row in session.execute(select(*columns).where(
                among(session, Consent.contact, ordered[start:start + _CONSENT_SLICE]))):
            states[row.contact] = _state_of(row)
    for contact in wanted:
        states.setdefault(contact, _UNKNOWN)


def forget_consents(session: Session) -> None:
    """Drops the batch's consent states read up front (an erasure deleted consent rows): `consent_of`
    reads the store again."""
    session.info.pop(_STATES, None)


@functools.lru_cache(maxsize=1024)
def _consent_state(granted: tuple[str, ...], withdrawn: tuple[str, ...], dnc_listed: bool, erased: bool,
                   agreed_hours: tuple[tuple[str, str], ...]) -> rules.ConsentState:
    """A consent row's state, made once for each of the few shapes consent rows take."""
    return rules.ConsentState(granted=frozenset(map(rules.Channel, granted)),
                              withdrawn=frozenset(map(rules.Channel, withdrawn)), dnc_listed=dnc_listed, erased=erased,
                              agreed_hours=tuple((rules.Channel(channel), rules.parse_agreed_hours(hours))
                                                 for channel, hours in agreed_hours))


def record_consent(ctx: Context, contact: str, state: rules.ConsentState) -> None:
    states = ctx.session.info.get(_STATES)
    if states is not None:
        states.pop(contact, None)  # read from the row from now on (a failed handler's savepoint takes it back)
    row = ctx.session.get(Consent, contact) or ctx.session.stage(Consent, contact=contact)
    row.granted, row.withdrawn = sorted(c.value for c in state.granted), sorted(c.value for c in state.withdrawn)
    row.dnc_listed, row.erased, row.updated_at = state.dnc_listed, state.erased, ctx.now()
    row.agreed_hours = {c.value: rules.format_hours(h) for c, h in state.agreed_hours} or None


def prefetch_recent_sends(session: Session, contacts: Iterable[str]) -> None:
    """Marks `contacts` as a batch's: their last day's marketing requests are read in one query the
    first time a cap is checked, and then counted in memory, the batch's own requests included (a
    contact two leads of one batch share reaches its cap across both)."""
    session.info.setdefault(_SENDS, {}).update((contact, None) for contact in contacts)


def _recent_sends(ctx: Context, channel: rules.Channel, contact: str, at: dt.datetime) -> list[dt.datetime]:
    sends = _sends_in_memory(ctx, contact, at)
    if sends is None:
        return list(ctx.session.scalars(select(OutreachRequest.send_at).where(
            OutreachRequest.contact == contact, OutreachRequest.channel == channel.value,
            OutreachRequest.marketing.is_(True), OutreachRequest.send_at > at - DAY).order_by(OutreachRequest.send_at)))
    # A request whose handler failed was rolled back with its savepoint: it no longer counts.
    return sorted(r.send_at for r in sends if r.channel == channel.value and r.send_at > at - DAY
                  and (isinstance(r, Row) or inspect(r).persistent or inspect(r).pending))


def _sends_in_memory(ctx: Context, contact: str, at: dt.datetime) -> list[OutreachRequest | Row] | None:
    """The contact's marketing requests since a day before the batch's first cap check, if prefetched."""
    index: dict[str, list[OutreachRequest | Row] | None] | None = ctx.session.info.get(_SENDS)
    if index is None or contact not in index:
        return None
    since = ctx.session.info.get(_SENDS_SINCE)
    if since is None:
        since = ctx.session.info[_SENDS_SINCE] = ctx.now() - DAY
        for contact_ in index:
            index[contact_] = []
        for row in ctx.session.scalars(select(OutreachRequest).where(
                among(ctx.session, OutreachRequest.contact, index), OutreachRequest.marketing.is_(True),
                OutreachRequest.send_at > since)):
            index[row.contact].append(row)
    return index[contact] if at - DAY >= since else None


def _permitted(ctx: Context, channel: rules.Channel, contact: str, marketing: bool,
               at: dt.datetime, lead_id: str | None = None) -> rules.Send | rules.Blocked:
    """The contact rules' decision; for a lead's request, a refusal or a wait for the permitted
    hours is kept (`blocked_requests`, added like the batch's other rows) for the funnel."""
    consent = consent_of(ctx, contact)
    # The daily cap matters only to marketing the consent allows: skip the query otherwise.
    sends = _recent_sends(ctx, channel, contact, at) if marketing and consent.allows_marketing(channel) else []
    policy = ctx.policies.contact
    decision = rules.decide(channel, marketing, consent, sends, at, policy)
    if isinstance(decision, rules.Blocked):
        reason = decision.reason
    elif marketing and decision.not_before is not None and not rules.in_hours(
            at, consent.hours_agreed(channel) or policy.hours(channel), policy.timezone):
        reason = "hours"
    else:
        reason = None
    if lead_id is not None and reason is not None:
        ctx.session.stage(BlockedRequest, lead_id=lead_id, channel=channel.value, reason=reason, decided_at=ctx.now())
    return decision


def _record(ctx: Context, event_id: str, lead_id: str, channel: rules.Channel, contact: str, marketing: bool,
            send_at: dt.datetime) -> None:
    request = ctx.session.stage(OutreachRequest, request_id=event_id, lead_id=lead_id,
                                channel=channel.value, contact=contact, marketing=marketing, send_at=send_at)
    sends = ctx.session.info.get(_SENDS, {}).get(contact)
    if marketing and sends is not None:
        sends.append(request)


def plan(ctx: Context, lead_id: str, emails: list[str], mobiles: list[str], numbers: list[str],
         call_reason: str = "first consultation call") -> list[rules.Verdict]:
    """A lead's channel plan now, decided in one call (`rules.decide_plan`: each contact's consent read
    once): an e-mail to each address, an SMS to each mobile, a call to the first of `numbers` (in dial
    order) the rules allow. The refusals and waits are kept (`blocked_requests`) and the requests
    allowed are made, as `request_email`, `request_sms` and `request_call` would, in that order."""
    now = ctx.now()
    session = ctx.session
    consents = {}
    for contact in (*emails, *mobiles, *numbers):
        if contact not in consents:
            consents[contact] = consent_of(ctx, contact)
    calls = []
    for number in numbers:
        contact = session.get(Contact, (lead_id, number))
        calls.append((number, not (contact and contact.given_by_customer)))
    sends = {}
    for channel, contacts in ((rules.Channel.EMAIL, emails), (rules.Channel.SMS, mobiles),
                              (rules.Channel.CALL, [number for number, marketing in calls if marketing])):
        for contact in contacts:
            # The daily cap matters only to marketing the consent allows: no query otherwise.
            consent = consents[contact]
            if consent.granted and consent.allows_marketing(channel) and (channel, contact) not in sends:
                sends[channel, contact] = _recent_sends(ctx, channel, contact, now)
    verdicts = rules.decide_plan(emails, mobiles, calls, consents, sends, now, ctx.policies.contact)
    for verdict in verdicts:
        if verdict.kept is not None:
            session.stage(BlockedRequest, lead_id=lead_id, channel=verdict.channel.value, reason=verdict.kept,
                          decided_at=now)
        if not isinstance(verdict.decision, rules.Send):
            continue
        if verdict.channel is rules.Channel.EMAIL:
            request_email(ctx, lead_id, verdict.contact, verdict.decision)
        elif verdict.channel is rules.Channel.SMS:
            request_sms(ctx, lead_id, verdict.contact, verdict.decision)
        else:
            request_call(ctx, lead_id, verdict.contact, 1, call_reason, decision=verdict.decision)
    return verdicts


def request_email(ctx: Context, lead_id: str, to: str,
                  decision: rules.Send | None = None) -> rules.Send | rules.Blocked:
    """An e-mail (marketing) to `to` if the contact rules allow it (`decision`: they did already)."""
    decision = decision or _permitted(ctx, rules.Channel.EMAIL, to, True, ctx.now(), lead_id)
    if isinstance(decision, rules.Send):
        subject, body = outreach_email(ctx.policies.contact)
        event_id = ctx.emit("email-requested", lead_id=lead_id, to=to, subject=subject, body=body, marketing=True,
                            not_before=decision.not_before)
        _record(ctx, event_id, lead_id, rules.Channel.EMAIL, to, True, decision.not_before or ctx.now())
    return decision


def request_sms(ctx: Context, lead_id: str, to: str, decision: rules.Send | None = None) -> rules.Send | rules.Blocked:
    decision = decision or _permitted(ctx, rules.Channel.SMS, to, True, ctx.now(), lead_id)
    if isinstance(decision, rules.Send):
        event_id = ctx.emit("sms-requested", lead_id=lead_id, to=to, text=outreach_sms(ctx.policies.contact),
                            marketing=True, not_before=decision.not_before)
        _record(ctx, event_id, lead_id, rules.Channel.SMS, to, True, decision.not_before or ctx.now())
    return decision


def request_call(ctx: Context, lead_id: str, to: str, attempt: int, reason: str,
                 not_before: dt.datetime | None = None, decision: rules.Send | None = None) -> rules.Send | rules.Blocked:
    """Asks the telephony platform for a consultation call, no earlier than `not_before`; a
    number the customer left for us is a call they asked for, not marketing (`decision`: the
    contact rules allowed it already)."""
    contact = ctx.session.get(Contact, (lead_id, to))
    marketing = not (contact and contact.given_by_customer)
    wanted = max(not_before or ctx.now(), ctx.now())
    decision = decision or _permitted(ctx, rules.Channel.CALL, to, marketing, wanted, lead_id)
    if isinstance(decision, rules.Send):
        send_at = decision.not_before or wanted
        event_id = ctx.emit("call-requested", subject_type="lead", subject_id=lead_id, to=to, purpose="consultation",
                            attempt=attempt, not_before=send_at if send_at > ctx.now() else None, reason=reason)
        _record(ctx, event_id, lead_id, rules.Channel.CALL, to, marketing, send_at)
        task = ctx.session.get(CallTask, lead_id) or ctx.session.stage(CallTask, lead_id=lead_id)
        task.number, task.attempt, task.status, task.updated_at = to, attempt, "requested", ctx.now()
    return decision


def request_profile_callback(ctx: Context, msisdn: str, to: str, reason: str, missing_fields: list[str],
                             call_id: str | None) -> rules.Send | rules.Blocked:
    """The call-back a dropped profile collection owes the customer, to the number they called
    from: a service call they were in the middle of, not marketing; it still never reaches a
    person who asked to be erased."""
    decision = _permitted(ctx, rules.Channel.CALL, to, False, ctx.now())
    if isinstance(decision, rules.Send):
        ctx.emit("call-requested", subject_type="subscriber", subject_id=msisdn, to=to,
                 purpose="profile_callback", attempt=1, reason=reason, missing_fields=missing_fields,
                 callback_for=call_id)
    return decision


def withdraw(ctx: Context, contact: str, kind: str, channel: str, source: str, evidence: str,
             at: dt.datetime) -> None:
    """Announces an opt-out received on a channel (an SMS "TC", a call that ended "do not call
    again", an e-mail asking to stop); the segmenter records it and recalls pending requests."""
    ctx.emit("consent-changed", contact=contact, contact_kind=kind, channel=channel, status="withdrawn",
             source=source, evidence=evidence, changed_at=at)


def cancel_outstanding(ctx: Context, contact: str, channels: frozenset[rules.Channel], reason: str) -> None:
    """Recalls what careflow asked the marketing tool or the telephony platform to send to
    `contact` on `channels` in the last 24 h or later: whatever of it is not yet carried out must
    not be (`outreach-cancelled`, one per channel). A send older than a day has long happened."""
    since = ctx.now() - DAY
    for channel in sorted(channels, key=lambda c: c.value):
        ids = list(ctx.session.scalars(select(OutreachRequest.request_id).where(
            OutreachRequest.contact == contact, OutreachRequest.channel == channel.value,
            OutreachRequest.send_at > since).order_by(OutreachRequest.send_at)))
        if ids:
            ctx.emit("outreach-cancelled", contact=contact, channel=channel.value, request_ids=ids, reason=reason)
        if channel is rules.Channel.CALL:
            for task in ctx.session.scalars(select(CallTask).where(CallTask.number == contact,
                                                                   CallTask.status == "requested")):
                task.status, task.updated_at = "cancelled", ctx.now()


def dial_numbers(ctx: Context, lead_id: str) -> list[DialNumber]:
    contacts = ctx.session.scalars(select(Contact).where(Contact.lead_id == lead_id, Contact.kind == "phone")
                                   .order_by(Contact.position))
    return [dial_number(c.value, c.phone_type, c.dead) for c in contacts]


def dial_number(value: str, phone_type: str | None, dead: bool = False) -> DialNumber:
    """A contact's number for the call order (`dial_order`): any number but a mobile counts as a landline."""
    return DialNumber(value, phone_type != "mobile", dead)
