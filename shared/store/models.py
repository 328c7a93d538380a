"""The read side: what careflow's services remember between events.

Each table belongs to the service that writes it; the operator reports read them all.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, DateTime, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from shared.domain import profiles


class UtcDateTime(TypeDecorator):
    """Timestamps stored as UTC and read back timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: careflow stores aware timestamps only")
        return None if value is None else value.astimezone(dt.timezone.utc)

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value


class Base(DeclarativeBase):
    pass


class ProcessedEvent(Base):
    """An event a consumer group has handled, with the events it emitted, so that a redelivery
    (after a crash between the database commit and the Kafka commit) re-emits the same events
    and changes nothing else."""

    __tablename__ = "processed_events"
    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    outputs: Mapped[bytes] = mapped_column(LargeBinary)


class Deadline(Base):
    """A timer that must fire once, whatever restarts or instances: a reply wait, a care SLA."""

    __tablename__ = "deadlines"
    deadline_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    fired_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Set once the events of the firing are committed to Kafka.
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    __table_args__ = (Index("ix_deadlines_due", "kind", "fired_at", "cancelled_at", "due_at"),)


class Lead(Base):
    __tablename__ = "leads"
    lead_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    tax_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    tax_code_valid: Mapped[bool] = mapped_column(Boolean, default=False)
    company_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    province_code: Mapped[str | None] = mapped_column(String(2), nullable=True, index=True)
    bhxh_unit_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    source: Mapped[str | None] = mapped_column(String(300), nullable=True)
    stage: Mapped[str] = mapped_column(String(20), index=True)
    outreach_list: Mapped[str | None] = mapped_column(String(20), nullable=True)
    has_email: Mapped[bool] = mapped_column(Boolean, default=False)
    has_mobile: Mapped[bool] = mapped_column(Boolean, default=False)
    has_landline: Mapped[bool] = mapped_column(Boolean, default=False)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class OutreachLead(Base):
    """What the outreach services need of a lead they work on: who it is and where it is."""

    __tablename__ = "outreach_leads"
    lead_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    tax_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    province_code: Mapped[str | None] = mapped_column(String(2), nullable=True)
    company_name: Mapped[str | None] = mapped_column(Text, nullable=True)


class Contact(Base):
    """A lead's phone number or e-mail address and whether it still works."""

    __tablename__ = "contacts"
    lead_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    value: Mapped[str] = mapped_column(String(320), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    phone_type: Mapped[str | None] = mapped_column(String(10), nullable=True)
    position: Mapped[int] = mapped_column(Integer)
    dead: Mapped[bool] = mapped_column(Boolean, default=False)
    # Left by the customer (in an e-mail reply): calling it answers their request, not marketing.
    given_by_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    # An inbound call is matched to its lead by the caller's number.
    __table_args__ = (Index("ix_contacts_value", "value"),)


class OutreachRequest(Base):
    """A request sent to the marketing tool or the telephony platform (funnel counts, daily caps)."""

    __tablename__ = "outreach_requests"
    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(300), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    contact: Mapped[str] = mapped_column(String(320), index=True)
    marketing: Mapped[bool] = mapped_column(Boolean)
    send_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class BlockedRequest(Base):
    """A request the contact rules did not let through (erased, withdrawn, dnc_listed, no_consent,
    no_capacity), or put off to the permitted hours ("hours"): the funnel counts them by reason."""

    __tablename__ = "blocked_requests"
    blocked_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lead_id: Mapped[str] = mapped_column(String(300), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(20))
    decided_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class CallTask(Base):
    """The state of the calls to one lead: which number, which attempt."""

    __tablename__ = "call_tasks"
    lead_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    number: Mapped[str] = mapped_column(String(20))
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    last_disposition: Mapped[str | None] = mapped_column(String(20), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Escalation(Base):
    __tablename__ = "escalations"
    lead_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    owner: Mapped[str] = mapped_column(String(20), index=True)
    province_code: Mapped[str | None] = mapped_column(String(2), nullable=True)
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    escalated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    returned_by: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # Set when the owner worked the lead (`lead-worked`): supported, contact_found, closed_inactive.
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The console's worklist: a unit's open escalations, oldest first.
    __table_args__ = (Index("ix_escalations_worklist", "owner", "closed_at", "escalated_at"),)


class Consent(Base):
    """The consent state of one phone number or e-mail address (the domain's ConsentState)."""

    __tablename__ = "consents"
    contact: Mapped[str] = mapped_column(String(320), primary_key=True)
    granted: Mapped[list] = mapped_column(JSON, default=list)
    withdrawn: Mapped[list] = mapped_column(JSON, default=list)
    dnc_listed: Mapped[bool] = mapped_column(Boolean, default=False)
    erased: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # Channel → the hours agreed instead of the legal ones ("any" or "HH:MM-HH:MM").
    agreed_hours: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class ConsentEvidence(Base):
    """Every consent change as it arrived: what, when, through which channel and source."""

    __tablename__ = "consent_evidence"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    contact: Mapped[str] = mapped_column(String(320), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(200))
    evidence: Mapped[str | None] = mapped_column(Text, nullable=True)
    changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class CareCustomer(Base):
    """A customer careflow supported (`customer-supported`): who may open after-sales care cases."""

    __tablename__ = "care_customers"
    customer_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    tax_code: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    province_code: Mapped[str | None] = mapped_column(String(2), nullable=True)
    supported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    via: Mapped[str] = mapped_column(String(20))


class CareCase(Base):
    __tablename__ = "care_cases"
    case_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(300), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    province_code: Mapped[str | None] = mapped_column(String(2), nullable=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    owner: Mapped[str] = mapped_column(String(40))
    level: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    breaches: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[dict] = mapped_column(JSON, doc="The domain's care case, serialized.")


class Subscriber(Base):
    __tablename__ = "subscribers"
    msisdn: Mapped[str] = mapped_column(String(20), primary_key=True)
    owner_type: Mapped[str] = mapped_column(String(20))
    subscription_type: Mapped[str] = mapped_column(String(20))
    tier: Mapped[str] = mapped_column(String(20))
    subscribed_since: Mapped[dt.date] = mapped_column(Date)
    kndl_member: Mapped[bool] = mapped_column(Boolean)
    gender: Mapped[str | None] = mapped_column(String(20), nullable=True)
    gender_provenance: Mapped[str | None] = mapped_column(String(20), nullable=True)
    occupation: Mapped[str | None] = mapped_column(String(200), nullable=True)
    occupation_provenance: Mapped[str | None] = mapped_column(String(20), nullable=True)
    hobbies: Mapped[list] = mapped_column(JSON, default=list)
    hobbies_provenance: Mapped[str | None] = mapped_column(String(20), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    def profile(self) -> profiles.Subscriber:
        """The domain's subscriber, as the profile rules read it."""
        return profiles.Subscriber(
            msisdn=self.msisdn, owner_type=profiles.OwnerType(self.owner_type),
            subscription_type=profiles.SubscriptionType(self.subscription_type), tier=profiles.Tier(self.tier),
            subscribed_since=self.subscribed_since, kndl_member=self.kndl_member, gender=self.gender,
            occupation=self.occupation, hobbies=tuple(self.hobbies or ()))


class ProfileDecision(Base):
    """What careflow told the agent on an answered call: prompt or skip, and why."""

    __tablename__ = "profile_decisions"
    call_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    msisdn: Mapped[str] = mapped_column(String(20), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    prompted: Mapped[bool] = mapped_column(Boolean)
    priority: Mapped[bool] = mapped_column(Boolean)
    skip_reasons: Mapped[list] = mapped_column(JSON, default=list)
    decided_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class LeadStateRow(Base):
    """Where a lead is in its life (the domain's LeadState): what every outreach service asks
    before it acts on the lead, and writes when it moves the lead on."""

    __tablename__ = "lead_states"
    lead_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    stage: Mapped[str] = mapped_column(String(20), index=True)
    owner: Mapped[str | None] = mapped_column(String(20), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class LifecycleRefusal(Base):
    """A move the lead's lifecycle refused (escalating a supported lead, re-escalating on a
    re-import, overwriting a hand-back): not applied, kept for operators (`careflow funnel`)."""

    __tablename__ = "lifecycle_refusals"
    refusal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(300), index=True)
    service: Mapped[str] = mapped_column(String(40))
    happening: Mapped[str] = mapped_column(String(30))
    stage: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    refused_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class UnmatchedCall(Base):
    """An inbound hotline call careflow could not tie to one lead, for operators to resolve
    (`careflow funnel`): no lead has its number or tax code, or several do."""

    __tablename__ = "unmatched_calls"
    call_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    reason: Mapped[str] = mapped_column(String(20), index=True)
    number: Mapped[str] = mapped_column(String(40))
    tax_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    candidates: Mapped[list] = mapped_column(JSON, default=list)
    disposition: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class ProfileCallback(Base):
    """A call-back a dropped profile collection owes the customer, open until a call-ended for it."""

    __tablename__ = "profile_callbacks"
    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    msisdn: Mapped[str] = mapped_column(String(20), index=True)
    number: Mapped[str] = mapped_column(String(20))
    callback_for: Mapped[str | None] = mapped_column(String(100), nullable=True)
    missing_fields: Mapped[list] = mapped_column(JSON, default=list)
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    disposition: Mapped[str | None] = mapped_column(String(20), nullable=True)


class Suppression(Base):
    """An erased data subject's identifier as a keyed hash (HMAC-SHA256 under careflow's privacy
    key), never the value: no later list, consent import or upstream event re-creates them."""

    __tablename__ = "suppressions"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    request_id: Mapped[str] = mapped_column(String(64))
    suppressed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class SubjectRequest(Base):
    """A data-subject request (access, withdrawal, erasure) with the time it is due under the
    configured deadlines; the person is named by a keyed hash only."""

    __tablename__ = "subject_requests"
    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    identifier_kind: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)


class ConsoleUser(Base):
    """A person who works in the operator console: their role and, for a post office, its unit."""

    __tablename__ = "console_users"
    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    role: Mapped[str] = mapped_column(String(30))
    unit: Mapped[str | None] = mapped_column(String(20), nullable=True, doc="BDT-<province code> for BĐT staff.")
    password_hash: Mapped[str] = mapped_column(String(200), doc="Argon2id.")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class ConsoleAudit(Base):
    """Every console action (and refusal, and failed login): who, what, when, the event it produced."""

    __tablename__ = "console_audit"
    audit_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str | None] = mapped_column(String(300), nullable=True)
    event_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    result: Mapped[str] = mapped_column(String(20), doc="done, refused or failed.")
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
