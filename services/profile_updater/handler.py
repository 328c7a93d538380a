"""Profile updater (SPEC B4-B5): a collection result from the agent desktop or a store becomes a
profile update with the provenance of every value, or a call-back when the call dropped."""

from __future__ import annotations

from shared.domain.profiles import (CallBackNeeded, Channel, CollectionOutcome, ProfileCollection, Provenance,
                                    apply_collection)
from shared.domain.phones import normalize_phone
from shared.outreach.requests import request_profile_callback
from shared.service import Context, Service, StoreAccess
from shared.store.models import Subscriber


def on_profile_collected(event, ctx: Context) -> None:
    collection = ProfileCollection(
        outcome=CollectionOutcome(event.outcome), channel=Channel(event.channel), gender=event.gender,
        gender_source=Provenance(event.gender_source) if event.gender_source else None,
        occupation=event.occupation, hobbies=tuple(event.hobbies))
    # An unknown catalogue value raises UnknownCatalogueValue (a ValueError): the event goes to the
    # dead-letter topic with the field and value named, and nothing is stored.
    row = ctx.session.get(Subscriber, event.msisdn)
    result = apply_collection(collection, ctx.policies.catalogue, row.profile() if row else None)
    if isinstance(result, CallBackNeeded):
        caller = normalize_phone(event.caller_number or "")
        request_profile_callback(ctx, event.msisdn, caller.e164 if caller else event.msisdn, result.reason,
                                 [f.value for f in result.missing_fields], event.call_id)
        return
    values = {}
    for name in ("gender", "occupation", "hobbies"):
        field_value = getattr(result, name)
        values[name] = None if field_value is None else (
            list(field_value.value) if name == "hobbies" else field_value.value)
        values[f"{name}_provenance"] = None if field_value is None else field_value.provenance.value
    if values["hobbies"] is None:
        values["hobbies"] = []
    ctx.emit("subscriber-profile-updated", msisdn=event.msisdn, call_id=event.call_id, channel=event.channel,
             change_reason=result.change_reason, **values)


# Reads the profile (a refusal fills only its empty fields) and the consent the call-back is checked
# against; writes nothing.
SERVICE = Service(name="profile-updater", emits=("subscriber-profile-updated", "call-requested"),
                  handlers={"profile-collected": on_profile_collected}, store=StoreAccess.READ)
