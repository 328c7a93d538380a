"""The subscriber directory's handlers in-process: the CRM's master data, and the profile changes
careflow itself made, with their provenance."""

from __future__ import annotations

import datetime as dt

from services import load
from shared.store.models import Subscriber
from tests.handlers import InProcess

MSISDN = "+84901000002"


def upserted(directory: InProcess, msisdn: str = MSISDN, **fields):
    fields = {"owner_type": "individual", "subscription_type": "postpaid", "tier": "premium",
              "subscribed_since": dt.date(2023, 5, 1), "kndl_member": False, **fields}
    return directory.handle("subscriber-upserted", msisdn=msisdn, **fields)


def stored(directory: InProcess, msisdn: str = MSISDN) -> Subscriber:
    with directory.session() as session:
        return session.get(Subscriber, msisdn)


def test_the_crm_master_data_is_kept_and_a_later_upsert_replaces_it():
    directory = InProcess(load("subscriber-directory"))
    assert upserted(directory, gender="female", gender_provenance="declared").outputs == []
    upserted(directory, tier="standard", kndl_member=True, gender="female", gender_provenance="declared")
    subscriber = stored(directory)
    assert (subscriber.tier, subscriber.kndl_member, subscriber.gender, subscriber.gender_provenance) == (
        "standard", True, "female", "declared")
    assert subscriber.subscribed_since == dt.date(2023, 5, 1)


def test_a_profile_update_changes_the_fields_it_carries_with_their_provenance_and_keeps_the_others():
    directory = InProcess(load("subscriber-directory"))
    upserted(directory, gender="female", gender_provenance="declared")
    directory.handle("subscriber-profile-updated", msisdn=MSISDN, call_id="c2", channel="call_centre",
                     occupation="Văn phòng (Thư ký, Thư viện, Bưu điện...)", occupation_provenance="refusal_default",
                     hobbies=["Nhóm du lịch"], hobbies_provenance="refusal_default", change_reason="Khách hàng yêu cầu")
    subscriber = stored(directory)
    assert (subscriber.gender, subscriber.gender_provenance) == ("female", "declared")
    assert (subscriber.occupation_provenance, subscriber.hobbies, subscriber.hobbies_provenance) == (
        "refusal_default", ["Nhóm du lịch"], "refusal_default")


def test_a_profile_update_for_a_subscriber_not_in_the_directory_is_dead_lettered():
    emitted = InProcess(load("subscriber-directory")).handle(
        "subscriber-profile-updated", msisdn="+84999999999", channel="store", occupation="Công nhân",
        occupation_provenance="declared", change_reason="Khách hàng yêu cầu")
    (dead,) = emitted.dead_letters
    assert dead.topic == "subscriber-profile-updated.dlq" and dead.key == b"+84999999999"
    assert b"not in the directory" in dict(dead.headers)["error"]
