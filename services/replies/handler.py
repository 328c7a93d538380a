"""E-mail replies (SPEC A7): a reply that leaves a phone number becomes a call to it; a reply
asking to stop withdraws e-mail consent at once; no reply within the wait → the post office."""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from shared.domain.calls import DialNumber, first_call
from shared.domain.contact_rules import Blocked, is_sms_stop, is_stop_request
from shared.domain.emails import normalize_email
from shared.domain.phones import PhoneType, find_phones, normalize_phone
from shared.domain.lifecycle import Happening
from shared.outreach import announcements, lifecycle, requests
from shared.service import Context, Rejected, Service
from shared.store import deadlines
from shared.store.models import Contact, Deadline
from shared.privacy import erasure

log = logging.getLogger("careflow.replies")


def on_email_replied(event, ctx: Context) -> None:
    deadlines.cancel(ctx.session, requests.reply_wait_id(event.lead_id), ctx.now())
    if is_stop_request(event.text):
        address = normalize_email(event.from_address) or event.from_address
        requests.withdraw(ctx, address, "email", "email", "email-reply", f"reply to lead {event.lead_id}",
                          event.replied_at)
        announcements.escalate(ctx, event.lead_id, "refused", "the customer asked by e-mail to stop marketing")
        return
    if not lifecycle.allowed(lifecycle.move(ctx, event.lead_id, Happening.OUTREACH_STARTED)):
        return  # the lead moved on (supported on the hotline, escalated): its owner takes the reply from here
    phones = [p for p in find_phones(event.text) if p.type in (PhoneType.MOBILE, PhoneType.LANDLINE, PhoneType.VOIP)]
    if not phones:
        announcements.escalate(ctx, event.lead_id, "unreachable", "the customer replied without a phone number")
        return
    position = ctx.session.scalar(select(func.count()).select_from(Contact).where(Contact.lead_id == event.lead_id))
    for offset, phone in enumerate(phones):
        contact = ctx.session.get(Contact, (event.lead_id, phone.e164))
        if contact is None:
            contact = Contact(lead_id=event.lead_id, value=phone.e164, kind="phone", phone_type=phone.type.value,
                              position=position + offset, dead=False)
            ctx.session.add(contact)
        contact.given_by_customer = True
    left = [DialNumber(p.e164, p.type is not PhoneType.MOBILE) for p in phones]
    dial = first_call(left)
    decision = requests.request_call(ctx, event.lead_id, dial.number, 1, "the customer left this number in a reply")
    if isinstance(decision, Blocked):
        announcements.escalate(ctx, event.lead_id, "unreachable", f"the number the customer left: {decision.reason}")


def on_sms_replied(event, ctx: Context) -> None:
    """A text to the short code: a stop word withdraws SMS consent for the sender's number at once."""
    phone = normalize_phone(event.msisdn)
    if phone is None:
        raise Rejected(f"sms-replied: {event.msisdn!r} is not a valid phone number")
    if is_sms_stop(event.text, ctx.policies.contact):
        requests.withdraw(ctx, phone.e164, "phone", "sms", "sms-reply",
                          f"SMS to {event.shortcode or 'the short code'}: {event.text.strip()[:160]}", event.replied_at)
    else:
        # Not an opt-out; its text stays with the SMS gateway (no lead to attach it to).
        log.info("sms reply that is not a stop request", extra={"service": ctx.service})


def on_reply_wait_over(deadline: Deadline, ctx: Context) -> None:
    announcements.escalate(ctx, deadline.subject_id, "no_email_reply", "no reply to the e-mail within the wait")


SERVICE = Service(name="replies", emits=("consent-changed", "call-requested", "lead-escalated"), handlers={
    "email-replied": on_email_replied, "sms-replied": on_sms_replied,
    "subject-erasure-requested": erasure.handler("contacts", "outreach_requests", "call_tasks", "deadlines")},
                  deadline_handlers={requests.REPLY_WAIT: on_reply_wait_over})
