"""Outreach under the contact rules: the one way careflow's services ask the marketing tool or
the telephony platform to reach a lead. Shared by the segmenter, the replies and the call-outcome
services, so that consent, the Do-Not-Call list, permitted hours and daily caps apply to every
request, whoever makes it."""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path

from sqlalchemy import select

from shared.domain import contact_rules as rules
from shared.domain.calls import DialNumber
from shared.domain.provinces import post_office_code
from shared.runtime import Context
from shared.settings import settings
from shared.store.models import CallTask, Consent, Contact, OutreachLead, OutreachRequest

DAY = dt.timedelta(hours=24)
REPLY_WAIT = "reply_wait"

EMAIL_SUBJECT = "Dịch vụ chuyển phát hồ sơ BHXH tận nơi của Bưu điện"
EMAIL_BODY = ("Kính gửi Quý doanh nghiệp, Bưu điện hỗ trợ nhận và chuyển phát hồ sơ bảo hiểm xã hội tận nơi. "
              "Vui lòng trả lời thư này kèm số điện thoại để được tư vấn, hoặc gọi tổng đài 1900 54 54 81.")
SMS_TEXT = "Buu dien nhan va chuyen phat ho so BHXH tan noi. Goi 1900545481 de duoc tu van."


@cache
def contact_policy() -> rules.ContactPolicy:
    path = settings().contact_policy
    return rules.ContactPolicy.from_mapping(json.loads(Path(path).read_text())) if path else rules.ContactPolicy()


def consent_of(ctx: Context, contact: str) -> rules.ConsentState:
    row = ctx.session.get(Consent, contact)
    if row is None:
        return rules.ConsentState.unknown()
    return rules.ConsentState(granted=frozenset(map(rules.Channel, row.granted)),
                              withdrawn=frozenset(map(rules.Channel, row.withdrawn)),
                              dnc_listed=row.dnc_listed, erased=row.erased)


def record_consent(ctx: Context, contact: str, state: rules.ConsentState) -> None:
    row = ctx.session.get(Consent, contact) or Consent(contact=contact)
    row.granted, row.withdrawn = sorted(c.value for c in state.granted), sorted(c.value for c in state.withdrawn)
    row.dnc_listed, row.erased, row.updated_at = state.dnc_listed, state.erased, ctx.now()
    ctx.session.add(row)


def _recent_sends(ctx: Context, channel: rules.Channel, contact: str, at: dt.datetime) -> list[dt.datetime]:
    return list(ctx.session.scalars(select(OutreachRequest.send_at).where(
        OutreachRequest.contact == contact, OutreachRequest.channel == channel.value,
        OutreachRequest.marketing.is_(True), OutreachRequest.send_at > at - DAY).order_by(OutreachRequest.send_at)))


def _permitted(ctx: Context, channel: rules.Channel, contact: str, marketing: bool,
               at: dt.datetime) -> rules.Send | rules.Blocked:
    consent = consent_of(ctx, contact)
    # The daily cap matters only to marketing the consent allows: skip the query otherwise.
    sends = _recent_sends(ctx, channel, contact, at) if marketing and consent.allows_marketing(channel) else []
    return rules.decide(channel, marketing, consent, sends, at, contact_policy())


def _record(ctx: Context, event, lead_id: str, channel: rules.Channel, contact: str, marketing: bool,
            send_at: dt.datetime) -> None:
    ctx.session.add(OutreachRequest(request_id=event.envelope.event_id, lead_id=lead_id, channel=channel.value,
                                    contact=contact, marketing=marketing, send_at=send_at))


def request_email(ctx: Context, lead_id: str, to: str) -> rules.Send | rules.Blocked:
    decision = _permitted(ctx, rules.Channel.EMAIL, to, True, ctx.now())
    if isinstance(decision, rules.Send):
        subject, body = rules.marketing_email(EMAIL_SUBJECT, EMAIL_BODY, contact_policy())
        event = ctx.emit("email-requested", lead_id=lead_id, to=to, subject=subject, body=body, marketing=True,
                         not_before=decision.not_before)
        _record(ctx, event, lead_id, rules.Channel.EMAIL, to, True, decision.not_before or ctx.now())
    return decision


def request_sms(ctx: Context, lead_id: str, to: str) -> rules.Send | rules.Blocked:
    decision = _permitted(ctx, rules.Channel.SMS, to, True, ctx.now())
    if isinstance(decision, rules.Send):
        event = ctx.emit("sms-requested", lead_id=lead_id, to=to, text=rules.marketing_sms_text(SMS_TEXT, contact_policy()),
                         marketing=True, not_before=decision.not_before)
        _record(ctx, event, lead_id, rules.Channel.SMS, to, True, decision.not_before or ctx.now())
    return decision


def request_call(ctx: Context, lead_id: str, to: str, attempt: int, reason: str,
                 not_before: dt.datetime | None = None) -> rules.Send | rules.Blocked:
    """Asks the telephony platform for a consultation call, no earlier than `not_before`; a
    number the customer left for us is a call they asked for, not marketing."""
    contact = ctx.session.get(Contact, (lead_id, to))
    marketing = not (contact and contact.given_by_customer)
    wanted = max(not_before or ctx.now(), ctx.now())
    decision = _permitted(ctx, rules.Channel.CALL, to, marketing, wanted)
    if isinstance(decision, rules.Send):
        send_at = decision.not_before or wanted
        event = ctx.emit("call-requested", subject_type="lead", subject_id=lead_id, to=to, purpose="consultation",
                         attempt=attempt, not_before=send_at if send_at > ctx.now() else None, reason=reason)
        _record(ctx, event, lead_id, rules.Channel.CALL, to, marketing, send_at)
        task = ctx.session.get(CallTask, lead_id) or CallTask(lead_id=lead_id)
        task.number, task.attempt, task.status, task.updated_at = to, attempt, "requested", ctx.now()
        ctx.session.add(task)
    return decision


def dial_numbers(ctx: Context, lead_id: str) -> list[DialNumber]:
    contacts = ctx.session.scalars(select(Contact).where(Contact.lead_id == lead_id, Contact.kind == "phone")
                                   .order_by(Contact.position))
    return [dial_number(c) for c in contacts]


def dial_number(contact: Contact) -> DialNumber:
    return DialNumber(contact.value, contact.phone_type != "mobile", contact.dead)


def announce_escalation(ctx: Context, lead_id: str, province_code: str | None, reason: str, detail: str) -> None:
    """Hands the lead to the post office of its province (TCT when the province is unknown)."""
    ctx.emit("lead-escalated", lead_id=lead_id, owner=post_office_code(province_code), province_code=province_code,
             reason=reason, detail=detail)


def escalate(ctx: Context, lead_id: str, reason: str, detail: str) -> None:
    """Escalates a lead in outreach: its province as the segmenter kept it; its calls stop."""
    lead = ctx.session.get(OutreachLead, lead_id)
    announce_escalation(ctx, lead_id, lead.province_code if lead else None, reason, detail)
    _end_calls(ctx, lead_id, "escalated")


def supported(ctx: Context, lead_id: str, via: str) -> None:
    lead = ctx.session.get(OutreachLead, lead_id)
    ctx.emit("customer-supported", lead_id=lead_id, tax_code=lead.tax_code if lead else None,
             province_code=lead.province_code if lead else None, via=via)
    _end_calls(ctx, lead_id, "supported")


def _end_calls(ctx: Context, lead_id: str, status: str) -> None:
    task = ctx.session.get(CallTask, lead_id)
    if task is not None:
        task.status, task.updated_at = status, ctx.now()
