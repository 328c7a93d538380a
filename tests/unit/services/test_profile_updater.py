"""The profile updater's handlers in-process: a collection result becomes a profile update with the
provenance of every value, or a call-back — checked against consent like every call careflow asks
for. The segmenter, on the same store, keeps the consent it reads."""

from __future__ import annotations

from services import load
from shared.domain.profiles import CHANGE_REASON, REFUSAL_HOBBY_GROUP, REFUSAL_OCCUPATION
from tests.handlers import InProcess
from tests.unit.services.test_segmenter import changed

MSISDN = "+84901000004"


def collected(updater: InProcess, outcome: str, channel: str = "call_centre", **fields):
    return updater.handle("profile-collected", msisdn=MSISDN, outcome=outcome, channel=channel, **fields)


def test_what_the_customer_provided_is_the_update_with_its_provenance():
    emitted = collected(InProcess(load("profile-updater")), "provided", call_id="c1", gender="male",
                        gender_source="agent_assessed", occupation="Kỹ sư, kỹ thuật viên",
                        hobbies=["Nhóm thể thao", "Nhóm âm nhạc"])
    (update,) = emitted.of("subscriber-profile-updated")
    assert (update.gender, update.gender_provenance) == ("male", "agent_assessed")
    assert (update.occupation, update.occupation_provenance) == ("Kỹ sư, kỹ thuật viên", "declared")
    assert (update.hobbies, update.hobbies_provenance) == (["Nhóm thể thao", "Nhóm âm nhạc"], "declared")
    assert (update.change_reason, update.call_id, update.channel) == (CHANGE_REASON, "c1", "call_centre")
    assert [output.key for output in emitted.outputs] == [MSISDN.encode()]


def test_a_refusal_still_updates_with_the_defaults_marked_as_such():
    (update,) = collected(InProcess(load("profile-updater")), "refused").of("subscriber-profile-updated")
    assert (update.occupation, update.hobbies) == (REFUSAL_OCCUPATION, [REFUSAL_HOBBY_GROUP])
    assert update.occupation_provenance == update.hobbies_provenance == "refusal_default"
    assert (update.gender, update.gender_provenance, update.change_reason) == (None, None, CHANGE_REASON)


def test_a_store_collection_updates_only_what_was_given():
    (update,) = collected(InProcess(load("profile-updater")), "provided", channel="store",
                          occupation="Công nhân").of("subscriber-profile-updated")
    assert (update.channel, update.occupation_provenance, update.hobbies, update.hobbies_provenance) == (
        "store", "declared", [], None)


def test_a_call_dropped_mid_collection_owes_the_customer_a_call_back_even_on_the_do_not_call_list():
    segmenter = InProcess(load("segmenter"))
    changed(segmenter, MSISDN, "dnc_listed")  # a service call, not marketing: the list does not apply
    emitted = collected(InProcess(load("profile-updater"), store=segmenter), "dropped", call_id="c5")
    (callback,) = emitted.of("call-requested")
    assert (callback.subject_type, callback.subject_id, callback.to, callback.purpose, callback.attempt) == (
        "subscriber", MSISDN, MSISDN, "profile_callback", 1)
    assert emitted.types() == ["call-requested"] and [output.key for output in emitted.outputs] == [MSISDN.encode()]


def test_an_erased_number_gets_no_call_back():
    segmenter = InProcess(load("segmenter"))
    changed(segmenter, MSISDN, "erased")
    assert collected(InProcess(load("profile-updater"), store=segmenter), "dropped", call_id="c5").outputs == []


def test_a_value_outside_the_catalogue_is_dead_lettered_naming_it_and_nothing_is_updated():
    emitted = collected(InProcess(load("profile-updater")), "provided", channel="store", occupation="Phi hành gia")
    assert emitted.events == []
    (dead,) = emitted.dead_letters
    headers = dict(dead.headers)
    assert dead.topic == "profile-collected.dlq" and "Phi hành gia" in headers["error"].decode()
    assert headers["error_type"] == b"UnknownCatalogueValue" and headers["tries"] == b"1"
