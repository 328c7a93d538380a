"""A data subject: every identifier careflow knows them by, resolved from one the person gave."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.domain.emails import normalize_email
from shared.domain.phones import normalize_phone
from shared.domain.tax_codes import normalize_tax_code
from shared.store.models import (CallTask, CareCustomer, Contact, Lead, OutreachLead, OutreachRequest,
                                 ProfileDecision, Subscriber)

IdentifierKind = Literal["phone", "email", "tax_code", "subscriber"]
IDENTIFIER_KINDS: tuple[str, ...] = ("phone", "email", "tax_code", "subscriber")


class PrivacyKeyMissing(RuntimeError):
    pass


def keyed_hash(key: str | None, value: str) -> str:
    """HMAC-SHA256 of a normalized identifier: equal for equal values, useless without the key."""
    if not key:
        raise PrivacyKeyMissing("CAREFLOW_PRIVACY_KEY is not set: careflow names erased people by a keyed hash "
                                "and needs the key (the same for every service) to erase or to suppress")
    return hmac.digest(key.encode(), value.encode(), "sha256").hex()  # one-shot: a third of hmac.new()'s cost


def privacy_key(settings) -> str | None:
    return (settings.privacy_key.get_secret_value() or None) if settings.privacy_key is not None else None


def normalize_identifier(kind: str, value: str) -> str:
    """The identifier as careflow stores it (E.164, lower-case e-mail, formatted tax code)."""
    if kind in ("phone", "subscriber"):
        phone = normalize_phone(value)
        if phone is None:
            raise ValueError(f"not a valid Vietnamese phone number (for --{kind.replace('_', '-')})")
        return phone.e164
    if kind == "email":
        email = normalize_email(value)
        if email is None:
            raise ValueError("not a valid e-mail address (for --email)")
        return email
    if kind == "tax_code":
        code, valid = normalize_tax_code(value)
        if not valid:
            raise ValueError("not a valid tax code (check digit) (for --tax-code)")
        return code
    raise ValueError(f"unknown identifier kind {kind!r}; one of {', '.join(IDENTIFIER_KINDS)}")


@dataclass
class Subject:
    lead_ids: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    tax_codes: set[str] = field(default_factory=set)
    subscribers: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)

    @classmethod
    def from_event(cls, event) -> Subject:
        return cls(*(set(getattr(event, name)) for name in
                     ("lead_ids", "phones", "emails", "tax_codes", "subscribers", "names")))

    def fields(self) -> dict[str, list[str]]:
        return {name: sorted(getattr(self, name)) for name in
                ("lead_ids", "phones", "emails", "tax_codes", "subscribers", "names")}

    @property
    def contacts(self) -> set[str]:
        return self.phones | self.emails

    @property
    def msisdns(self) -> set[str]:
        return self.phones | self.subscribers

    def identifiers(self) -> list[tuple[str, str]]:
        """(kind, value) of everything that names the person: what suppression entries are made of."""
        return ([("lead", v) for v in self.lead_ids] + [("phone", v) for v in self.phones]
                + [("email", v) for v in self.emails] + [("tax_code", v) for v in self.tax_codes]
                + [("subscriber", v) for v in self.subscribers - self.phones])

    def needles(self) -> list[bytes]:
        """What a stored output that concerns the person contains (Avro strings are UTF-8 as written)."""
        return [v.encode() for v in self.lead_ids | self.contacts | self.tax_codes | self.subscribers | self.names if v]


def resolve(session: Session, kind: str, value: str) -> Subject:
    """Everything careflow's stores link to the identifier: the leads it appears in (as a contact, a
    tax code, a number called), their contacts, tax codes and names, and the subscriber."""
    subject = Subject()
    if kind in ("phone", "email"):
        subject.lead_ids |= set(session.scalars(select(Contact.lead_id).where(Contact.value == value)))
        subject.lead_ids |= set(session.scalars(select(OutreachRequest.lead_id).where(OutreachRequest.contact == value)))
    if kind == "phone":
        subject.lead_ids |= set(session.scalars(select(CallTask.lead_id).where(CallTask.number == value)))
    if kind == "tax_code":
        subject.tax_codes.add(value)
        subject.lead_ids.add(f"mst:{value}")
        for model in (Lead, OutreachLead, CareCustomer):
            key = model.customer_id if model is CareCustomer else model.lead_id
            subject.lead_ids |= set(session.scalars(select(key).where(model.tax_code == value)))
    if kind in ("phone", "subscriber"):
        subject.subscribers.add(value)
    {"phone": subject.phones, "email": subject.emails}.get(kind, set()).add(value)
    leads = subject.lead_ids
    for lead_value, contact_kind in session.execute(select(Contact.value, Contact.kind).where(Contact.lead_id.in_(leads))):
        (subject.emails if contact_kind == "email" else subject.phones).add(lead_value)
    for model in (Lead, OutreachLead):
        for tax_code, name in session.execute(select(model.tax_code, model.company_name).where(model.lead_id.in_(leads))):
            subject.tax_codes |= {tax_code} if tax_code else set()
            subject.names |= {name} if name else set()
    # A subscriber of the call centre known by a number the person's leads list.
    subject.subscribers |= set(session.scalars(select(Subscriber.msisdn).where(Subscriber.msisdn.in_(subject.phones))))
    subject.subscribers |= set(session.scalars(select(ProfileDecision.msisdn).where(
        ProfileDecision.msisdn.in_(subject.phones))))
    return subject
