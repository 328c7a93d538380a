"""Subscriber directory (SPEC B1): the master data the profile rules need, from the CRM
(`subscriber-upserted`), and the profile changes careflow itself made (`subscriber-profile-updated`)."""

from __future__ import annotations

from shared.domain.profiles import replaces
from shared.service import Context, Rejected, Service
from shared.store.models import Subscriber
from shared.privacy import erasure


def on_upserted(event, ctx: Context) -> None:
    subscriber = ctx.session.get(Subscriber, event.msisdn)
    if subscriber is None:
        subscriber = Subscriber(msisdn=event.msisdn)
        ctx.session.add(subscriber)
    for name in ("owner_type", "subscription_type", "tier", "subscribed_since", "kndl_member", "gender",
                 "gender_provenance", "occupation", "occupation_provenance", "hobbies", "hobbies_provenance"):
        setattr(subscriber, name, getattr(event, name))
    subscriber.updated_at = ctx.now()


def on_profile_updated(event, ctx: Context) -> None:
    subscriber = ctx.session.get(Subscriber, event.msisdn)
    if subscriber is None:
        raise Rejected(f"subscriber {event.msisdn} is not in the directory")
    # A field the update leaves out (no provenance) keeps its value; a refusal default fills only an empty one.
    for name in ("gender", "occupation", "hobbies"):
        provenance = getattr(event, f"{name}_provenance")
        if replaces(getattr(subscriber, name), provenance):
            setattr(subscriber, name, getattr(event, name))
            setattr(subscriber, f"{name}_provenance", provenance)
    subscriber.updated_at = ctx.now()


SERVICE = Service(name="subscriber-directory", handlers={
    "subscriber-upserted": on_upserted, "subscriber-profile-updated": on_profile_updated,
    "subject-erasure-requested": erasure.handler("subscribers")})
