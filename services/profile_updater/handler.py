"""Profile updater (SPEC B4-B5): a collection result from the agent desktop or a store becomes a
profile update with the provenance of every value, or a call-back when the call dropped."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from shared.domain.profiles import (CallBackNeeded, Channel, CollectionOutcome, ProfileCollection, Provenance,
                                    apply_collection, load_catalogue)
from shared.runtime import Context, Service, StoreAccess
from shared.settings import settings


@cache
def _catalogue():
    path = settings().profile_catalogue
    return load_catalogue(Path(path) if path else None)


def on_profile_collected(event, ctx: Context) -> None:
    collection = ProfileCollection(
        outcome=CollectionOutcome(event.outcome), channel=Channel(event.channel), gender=event.gender,
        gender_source=Provenance(event.gender_source) if event.gender_source else None,
        occupation=event.occupation, hobbies=tuple(event.hobbies))
    # An unknown catalogue value raises UnknownCatalogueValue (a ValueError): the event goes to the
    # dead-letter topic with the field and value named, and nothing is stored.
    result = apply_collection(collection, _catalogue())
    if isinstance(result, CallBackNeeded):
        ctx.emit("call-requested", subject_type="subscriber", subject_id=event.msisdn, to=event.msisdn,
                 purpose="profile_callback", attempt=1, reason=result.reason)
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


SERVICE = Service(name="profile-updater", handlers={"profile-collected": on_profile_collected}, store=StoreAccess.NONE)
