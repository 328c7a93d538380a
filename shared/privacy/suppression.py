"""Suppression: an erased person's identifiers as keyed hashes; events and import rows that name
one of them are not processed (Segment's suppress-with-delete)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from shared.domain.emails import normalize_email
from shared.domain.tax_codes import normalize_tax_code
from shared.privacy.subjects import Subject, keyed_hash
from shared.store import execute_by_keys, in_keys
from shared.store.models import Suppression

# The privacy events themselves name erased people on purpose.
EXEMPT_EVENTS = frozenset({"subject-erasure-requested", "subject-erased"})
_AS_STORED = ("lead_id", "customer_id", "contact", "number", "msisdn", "to")


def identifiers_of(fields: Mapping) -> set[str]:
    """The identifiers an event (or an import row's fields) names, normalized as careflow stores them."""
    found: set[str] = set()
    for name in _AS_STORED:
        if isinstance(value := fields.get(name), str) and value:
            found.add(value)
    if fields.get("subject_type") in ("lead", "subscriber") and fields.get("subject_id"):
        found.add(fields["subject_id"])
    if fields.get("tax_code"):
        found.add(normalize_tax_code(fields["tax_code"])[0])
    if fields.get("from_address"):
        found.add(normalize_email(fields["from_address"]) or fields["from_address"])
    # Lists once normalized (lead-normalized); a raw import string is checked through the lead id.
    for phone in fields.get("phones") or () if not isinstance(fields.get("phones"), str) else ():
        found.add(phone["e164"] if isinstance(phone, Mapping) else phone.e164)
    if not isinstance(fields.get("emails"), str):
        found.update(fields.get("emails") or ())
    return found


def event_fields(event) -> Mapping:
    """A decoded event's fields by name, read in place: a pydantic model keeps them in its __dict__."""
    return event.__dict__


def suppressed(session: Session, key: str, values: Iterable[str]) -> set[str]:
    """The values among `values` whose hash is suppressed."""
    by_hash = {keyed_hash(key, value): value for value in values}
    if not by_hash:
        return set()
    return {by_hash[h] for h in execute_by_keys(session, _suppressed_statement, by_hash).scalars()}


@functools.cache
def _suppressed_statement(dialect: str) -> Select:
    """Built once: every batch of every service asks it, with a few identifiers an event."""
    return select(Suppression.hash).where(in_keys(dialect, Suppression.hash, "keys"))


def suppress(session: Session, key: str, subject: Subject, request_id: str, at: dt.datetime) -> int:
    """Keeps a suppression entry per identifier of the subject (idempotent); how many there are."""
    entries = {keyed_hash(key, value): kind for kind, value in subject.identifiers()}
    for hash_, kind in entries.items():
        session.merge(Suppression(hash=hash_, kind=kind, request_id=request_id, suppressed_at=at))
    return len(entries)
