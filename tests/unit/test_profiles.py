"""Process B (seed 001): who is asked for a profile, who is persuaded, and what a collection stores."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import unicodedata

import pytest

from shared.domain.profiles import (CHANGE_REASON, REFUSAL_HOBBY_GROUP, REFUSAL_OCCUPATION, AnsweredCall,
                                    CallBackNeeded, CallReason, Channel, CollectionOutcome, CustomerMood, FieldValue,
                                    OwnerType, PriorityReason, ProfileCatalogue, ProfileCollection, ProfileField,
                                    ProfileUpdate, Provenance, SkipReason, Subscriber, SubscriptionType, Tier,
                                    UnknownCatalogueValue, agent_script, apply_collection, decide, explain_call,
                                    load_catalogue, missing_fields)

MSISDN = "+84901234567"
OFFICE = REFUSAL_OCCUPATION
TEACHER = "Giáo dục (Giáo viên, Giảng viên...)"
TRAVEL = REFUSAL_HOBBY_GROUP
SPORT = "Nhóm thể thao"
MUSIC = "Nhóm âm nhạc"

# An individual prepaid subscriber of two years, standard tier, with nothing on file: a target.
SUBSCRIBER = Subscriber(msisdn=MSISDN, owner_type=OwnerType.INDIVIDUAL, subscription_type=SubscriptionType.PREPAID,
                        tier=Tier.STANDARD, subscribed_since=dt.date(2024, 1, 10), kndl_member=False, gender=None,
                        occupation=None, hobbies=())
CALL = AnsweredCall(call_id="call-1", msisdn=MSISDN, answered_at=dt.datetime.fromisoformat("2026-05-01T10:00:00+07:00"),
                    call_reason=CallReason.GENERAL, caller_is_user=True, customer_mood=CustomerMood.NORMAL)
COMPLETE = {"gender": "female", "occupation": TEACHER, "hobbies": (MUSIC,)}


def at(timestamp: str) -> AnsweredCall:
    return dataclasses.replace(CALL, answered_at=dt.datetime.fromisoformat(timestamp))


@pytest.fixture(scope="module")
def catalogue() -> ProfileCatalogue:
    return load_catalogue()


# --- B1: the 07:00-22:00 window, on the Vietnam clock -------------------------------------------

@pytest.mark.parametrize("timestamp, in_hours", [
    ("2026-05-01T06:59:59+07:00", False),
    ("2026-05-01T07:00:00+07:00", True),
    ("2026-05-01T21:59:59+07:00", True),
    ("2026-05-01T22:00:00+07:00", False),
    ("2026-05-01T03:00:00+07:00", False),
    ("2026-05-01T00:30:00Z", True),          # 07:30 in Vietnam
    ("2026-05-01T15:00:00Z", False),         # 22:00 in Vietnam
    ("2026-04-30T23:59:59+00:00", False),    # 06:59:59 in Vietnam
    ("2026-05-01T09:00:00+09:00", True),     # 07:00 in Vietnam
    ("2026-05-01T16:59:59+02:00", True),     # 21:59:59 in Vietnam
    ("2026-05-01T10:00:00-05:00", False),    # 22:00 in Vietnam
])
def test_the_window_is_seven_to_twenty_two_vietnam_time_whatever_the_offset(timestamp, in_hours):
    decision = decide(at(timestamp), SUBSCRIBER)
    assert decision.target is in_hours
    assert (SkipReason.OUTSIDE_HOURS in decision.skip_reasons) is not in_hours


def test_a_call_time_without_offset_is_rejected():
    with pytest.raises(ValueError, match="answered_at"):
        dataclasses.replace(CALL, answered_at=dt.datetime(2026, 5, 1, 10, 0))


# --- B1: missing fields ----------------------------------------------------------------------------

@pytest.mark.parametrize("changes, missing", [
    ({}, ("gender", "hobbies", "occupation")),
    (COMPLETE, ()),
    ({**COMPLETE, "gender": ""}, ("gender",)),
    ({**COMPLETE, "gender": "  "}, ("gender",)),
    ({**COMPLETE, "occupation": ""}, ("occupation",)),
    ({**COMPLETE, "occupation": " \t"}, ("occupation",)),
    ({**COMPLETE, "hobbies": ()}, ("hobbies",)),
    ({**COMPLETE, "hobbies": ("", "  ")}, ("hobbies",)),
    ({**COMPLETE, "hobbies": ("", SPORT)}, ()),
    ({"gender": "male"}, ("hobbies", "occupation")),
])
def test_missing_fields_count_blanks_as_missing_and_are_sorted_by_name(changes, missing):
    assert missing_fields(dataclasses.replace(SUBSCRIBER, **changes)) == tuple(ProfileField(m) for m in missing)


# --- B1: targets and skip reasons ------------------------------------------------------------------

@pytest.mark.parametrize("subscription_type", [SubscriptionType.PREPAID, SubscriptionType.POSTPAID])
@pytest.mark.parametrize("missing", ["gender", "occupation", "hobbies"])
def test_an_individual_subscription_with_one_field_missing_in_hours_is_a_target(subscription_type, missing):
    subscriber = dataclasses.replace(SUBSCRIBER, subscription_type=subscription_type,
                                     **{**COMPLETE, missing: () if missing == "hobbies" else None})
    decision = decide(CALL, subscriber)
    assert (decision.target, decision.skip_reasons, decision.missing_fields) == (True, (), (ProfileField(missing),))


@pytest.mark.parametrize("call_changes, subscriber_changes, reason", [
    ({}, {"owner_type": OwnerType.COMPANY}, SkipReason.COMPANY_OWNED),
    ({}, {"owner_type": OwnerType.ORGANIZATION}, SkipReason.COMPANY_OWNED),
    ({}, {"subscription_type": SubscriptionType.SERVICE}, SkipReason.SERVICE_SUBSCRIPTION),
    ({}, {"subscription_type": SubscriptionType.TEST}, SkipReason.TEST_SIM),
    ({"answered_at": dt.datetime.fromisoformat("2026-05-01T23:00:00+07:00")}, {}, SkipReason.OUTSIDE_HOURS),
    ({}, COMPLETE, SkipReason.PROFILE_COMPLETE),
    ({"caller_is_user": False}, {}, SkipReason.CALLER_NOT_USER),
    ({"call_reason": CallReason.LOST_PHONE}, {}, SkipReason.LOST_PHONE),
    ({"call_reason": CallReason.COMPLAINT}, {}, SkipReason.COMPLAINT),
    ({"customer_mood": CustomerMood.DIFFICULT}, {}, SkipReason.DIFFICULT_CUSTOMER),
])
def test_each_skip_reason_alone_makes_the_call_no_target(call_changes, subscriber_changes, reason):
    decision = decide(dataclasses.replace(CALL, **call_changes), dataclasses.replace(SUBSCRIBER, **subscriber_changes))
    assert (decision.target, decision.skip_reasons) == (False, (reason,))


@pytest.mark.parametrize("call_reason", [CallReason.GENERAL, CallReason.OTHER])
def test_ordinary_call_reasons_do_not_skip(call_reason):
    assert decide(dataclasses.replace(CALL, call_reason=call_reason), SUBSCRIBER).target


def test_every_applicable_skip_reason_is_listed_sorted_by_value():
    call = dataclasses.replace(CALL, answered_at=dt.datetime.fromisoformat("2026-05-01T16:00:00Z"),
                               caller_is_user=False, call_reason=CallReason.COMPLAINT,
                               customer_mood=CustomerMood.DIFFICULT)
    subscriber = dataclasses.replace(SUBSCRIBER, owner_type=OwnerType.COMPANY, subscription_type=SubscriptionType.TEST,
                                     **COMPLETE)
    assert decide(call, subscriber).skip_reasons == (
        SkipReason.CALLER_NOT_USER, SkipReason.COMPANY_OWNED, SkipReason.COMPLAINT, SkipReason.DIFFICULT_CUSTOMER,
        SkipReason.OUTSIDE_HOURS, SkipReason.PROFILE_COMPLETE, SkipReason.TEST_SIM)


# --- B2: priority customers ------------------------------------------------------------------------

@pytest.mark.parametrize("changes, reasons", [
    ({}, ()),
    ({"tier": Tier.PREMIUM}, (PriorityReason.PREMIUM,)),
    ({"kndl_member": True}, (PriorityReason.KNDL_MEMBER,)),
    ({"subscribed_since": dt.date(2010, 6, 1)}, (PriorityReason.LONG_STANDING,)),
    ({"tier": Tier.PREMIUM, "kndl_member": True, "subscribed_since": dt.date(2010, 6, 1)},
     (PriorityReason.KNDL_MEMBER, PriorityReason.LONG_STANDING, PriorityReason.PREMIUM)),
])
def test_priority_reasons_and_persuasion_for_a_target(changes, reasons):
    decision = decide(CALL, dataclasses.replace(SUBSCRIBER, **changes))
    assert decision.target
    assert (decision.priority_reasons, decision.priority, decision.persuade) == (reasons, bool(reasons), bool(reasons))


def test_priority_is_computed_for_a_skipped_call_but_nobody_is_persuaded():
    decision = decide(dataclasses.replace(CALL, call_reason=CallReason.LOST_PHONE),
                      dataclasses.replace(SUBSCRIBER, tier=Tier.PREMIUM))
    assert (decision.target, decision.priority, decision.priority_reasons, decision.persuade) == (
        False, True, (PriorityReason.PREMIUM,), False)


@pytest.mark.parametrize("since, timestamp, long_standing", [
    ("2021-03-15", "2026-03-15T07:00:00+07:00", True),
    ("2021-03-15", "2026-03-14T21:59:59+07:00", False),
    ("2021-03-15", "2026-03-14T17:00:00Z", True),      # 00:00 on 15 March in Vietnam
    ("2021-03-15", "2026-03-14T16:59:59Z", False),     # still 14 March in Vietnam
    ("2021-03-15", "2026-03-15T16:59:59Z", True),
    ("2021-03-15", "2031-01-01T10:00:00+07:00", True),
    ("2020-02-29", "2025-02-28T10:00:00+07:00", False),  # no 29 February in 2025: the year ends on 1 March
    ("2020-02-29", "2025-03-01T10:00:00+07:00", True),
    ("2020-02-29", "2024-02-29T10:00:00+07:00", False),
    ("2019-02-28", "2024-02-28T10:00:00+07:00", True),
    ("2019-03-01", "2024-02-29T10:00:00+07:00", False),
    ("2027-01-01", "2026-05-01T10:00:00+07:00", False),  # a start date after the call
])
def test_long_standing_is_five_full_years_on_the_vietnam_date_of_the_call(since, timestamp, long_standing):
    decision = decide(at(timestamp), dataclasses.replace(SUBSCRIBER, subscribed_since=dt.date.fromisoformat(since)))
    assert (PriorityReason.LONG_STANDING in decision.priority_reasons) is long_standing


# --- B3: guidance for the agent --------------------------------------------------------------------

def test_the_script_serves_first_then_asks_occupation_and_hobbies_and_assesses_gender():
    script = agent_script(decide(CALL, SUBSCRIBER), SUBSCRIBER)
    lines = script.splitlines()
    assert lines[0].startswith("Phục vụ yêu cầu của khách hàng trước")
    assert "nghề nghiệp và sở thích" in lines[1] and MSISDN in lines[1]
    assert "không cần xác minh chủ thuê bao" in script
    assert "nhiều nhóm sở thích" in script
    assert "Giới tính: tự nhập theo đánh giá" in script
    assert "thuyết phục" not in script


def test_the_script_asks_a_priority_customer_who_refuses_to_reconsider_once():
    subscriber = dataclasses.replace(SUBSCRIBER, tier=Tier.PREMIUM, kndl_member=True)
    script = agent_script(decide(CALL, subscriber), subscriber)
    assert "thuyết phục thêm một lần" in script
    assert "khách hàng cao cấp" in script and "hội viên KNDL" in script


@pytest.mark.parametrize("changes, asked, absent", [
    ({**COMPLETE, "gender": None}, ["Giới tính"], ["nghề nghiệp", "sở thích", "Nếu khách hàng từ chối"]),
    ({**COMPLETE, "occupation": None}, ["cung cấp thêm nghề nghiệp của"], ["sở thích", "Giới tính"]),
    ({**COMPLETE, "hobbies": ()}, ["cung cấp thêm sở thích của", "nhiều nhóm sở thích"], ["nghề nghiệp", "Giới tính"]),
])
def test_the_script_mentions_only_the_missing_fields(changes, asked, absent):
    subscriber = dataclasses.replace(SUBSCRIBER, **changes)
    script = agent_script(decide(CALL, subscriber), subscriber)
    assert all(text in script for text in asked)
    assert not any(text in script for text in absent)


def test_there_is_no_script_for_a_call_that_is_not_a_target():
    subscriber = dataclasses.replace(SUBSCRIBER, **COMPLETE)
    with pytest.raises(ValueError, match="not a target"):
        agent_script(decide(CALL, subscriber), subscriber)


# --- the catalogue ---------------------------------------------------------------------------------

def test_the_shipped_catalogue_holds_the_refusal_defaults_and_real_groups(catalogue):
    assert {REFUSAL_OCCUPATION, TEACHER} <= catalogue.occupations
    assert {REFUSAL_HOBBY_GROUP, SPORT, MUSIC} <= catalogue.hobby_groups
    assert len(catalogue.occupations) >= 10 and len(catalogue.hobby_groups) >= 10


def _write_catalogue(tmp_path, document) -> object:
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_catalogue_file_is_read_in_composed_form(tmp_path):
    path = _write_catalogue(tmp_path, {"occupations": [unicodedata.normalize("NFD", OFFICE), " Nông dân "],
                                       "hobby_groups": [TRAVEL]})
    assert load_catalogue(path) == ProfileCatalogue(frozenset({OFFICE, "Nông dân"}), frozenset({TRAVEL}))


@pytest.mark.parametrize("document, message", [
    ({"occupations": [OFFICE]}, "hobby_groups must be a list"),
    ({"occupations": [OFFICE, ""], "hobby_groups": [TRAVEL]}, "occupations must be a list of non-empty"),
    ({"occupations": OFFICE, "hobby_groups": [TRAVEL]}, "occupations must be a list"),
    ([OFFICE, TRAVEL], "occupations must be a list"),
    ({"occupations": [TEACHER], "hobby_groups": [TRAVEL]}, "occupations lacks the refusal default"),
    ({"occupations": [OFFICE], "hobby_groups": [SPORT]}, "hobby_groups lacks the refusal default"),
])
def test_a_malformed_catalogue_is_refused(tmp_path, document, message):
    with pytest.raises(ValueError, match=message):
        load_catalogue(_write_catalogue(tmp_path, document))


# --- B4/B5: applying a collection ------------------------------------------------------------------

@pytest.mark.parametrize("channel", list(Channel))
@pytest.mark.parametrize("gender_source", [Provenance.AGENT_ASSESSED, Provenance.DECLARED])
def test_provided_values_are_stored_as_declared_with_the_gender_source(catalogue, channel, gender_source):
    collection = ProfileCollection(CollectionOutcome.PROVIDED, channel, gender="female", gender_source=gender_source,
                                   occupation=TEACHER, hobbies=(SPORT,))
    assert apply_collection(collection, catalogue) == ProfileUpdate(
        gender=FieldValue("female", gender_source), occupation=FieldValue(TEACHER, Provenance.DECLARED),
        hobbies=FieldValue((SPORT,), Provenance.DECLARED), change_reason=CHANGE_REASON)


def test_several_hobby_groups_keep_their_order_without_repeats_or_blanks(catalogue):
    collection = ProfileCollection(CollectionOutcome.PROVIDED, Channel.STORE,
                                   hobbies=(MUSIC, SPORT, " ", MUSIC, TRAVEL, SPORT))
    assert apply_collection(collection, catalogue).hobbies == FieldValue((MUSIC, SPORT, TRAVEL), Provenance.DECLARED)


@pytest.mark.parametrize("changes, unchanged", [
    ({"occupation": TEACHER}, ("gender", "hobbies")),
    ({"hobbies": (SPORT,)}, ("gender", "occupation")),
    ({"gender": "male", "gender_source": Provenance.AGENT_ASSESSED}, ("hobbies", "occupation")),
])
def test_a_partial_answer_leaves_the_other_fields_unchanged(catalogue, changes, unchanged):
    update = apply_collection(ProfileCollection(CollectionOutcome.PROVIDED, Channel.CALL_CENTRE, **changes), catalogue)
    assert [name for name in ("gender", "hobbies", "occupation") if getattr(update, name) is None] == list(unchanged)


def test_values_typed_decomposed_or_padded_match_the_catalogue(catalogue):
    collection = ProfileCollection(CollectionOutcome.PROVIDED, Channel.STORE, gender=" male ",
                                   gender_source=Provenance.DECLARED,
                                   occupation=unicodedata.normalize("NFD", TEACHER) + " ",
                                   hobbies=(unicodedata.normalize("NFD", MUSIC),))
    update = apply_collection(collection, catalogue)
    assert (update.gender.value, update.occupation.value, update.hobbies.value) == ("male", TEACHER, (MUSIC,))


@pytest.mark.parametrize("gender, gender_source, expected_gender", [
    (None, None, None),
    ("male", Provenance.AGENT_ASSESSED, FieldValue("male", Provenance.AGENT_ASSESSED)),
])
def test_a_refusal_still_stores_the_seed_defaults_marked_as_such(catalogue, gender, gender_source, expected_gender):
    collection = ProfileCollection(CollectionOutcome.REFUSED, Channel.CALL_CENTRE, gender=gender,
                                   gender_source=gender_source)
    assert apply_collection(collection, catalogue) == ProfileUpdate(
        gender=expected_gender, occupation=FieldValue(REFUSAL_OCCUPATION, Provenance.REFUSAL_DEFAULT),
        hobbies=FieldValue((REFUSAL_HOBBY_GROUP,), Provenance.REFUSAL_DEFAULT), change_reason=CHANGE_REASON)


def test_a_priority_customer_who_still_refuses_after_persuasion_gets_the_defaults(catalogue):
    subscriber = dataclasses.replace(SUBSCRIBER, subscribed_since=dt.date(2021, 3, 15))
    decision = decide(at("2026-03-15T09:00:00+07:00"), subscriber)
    assert decision.persuade and decision.priority_reasons == (PriorityReason.LONG_STANDING,)
    update = apply_collection(ProfileCollection(CollectionOutcome.REFUSED, Channel.CALL_CENTRE, gender="female",
                                                gender_source=Provenance.AGENT_ASSESSED), catalogue)
    assert (update.occupation.provenance, update.hobbies.provenance, update.gender.provenance) == (
        Provenance.REFUSAL_DEFAULT, Provenance.REFUSAL_DEFAULT, Provenance.AGENT_ASSESSED)


def test_an_answer_given_before_refusing_stays_declared(catalogue):
    update = apply_collection(ProfileCollection(CollectionOutcome.REFUSED, Channel.CALL_CENTRE, occupation=TEACHER),
                              catalogue)
    assert update.occupation == FieldValue(TEACHER, Provenance.DECLARED)
    assert update.hobbies == FieldValue((REFUSAL_HOBBY_GROUP,), Provenance.REFUSAL_DEFAULT)


@pytest.mark.parametrize("changes, missing", [
    ({}, ("gender", "hobbies", "occupation")),
    ({"gender": "male", "gender_source": Provenance.AGENT_ASSESSED, "occupation": TEACHER}, ("hobbies",)),
])
def test_a_dropped_call_asks_for_a_call_back_and_stores_nothing(catalogue, changes, missing):
    result = apply_collection(ProfileCollection(CollectionOutcome.DROPPED, Channel.CALL_CENTRE, **changes), catalogue)
    assert isinstance(result, CallBackNeeded) and result.reason
    assert result.missing_fields == tuple(ProfileField(m) for m in missing)


@pytest.mark.parametrize("outcome", list(CollectionOutcome))
@pytest.mark.parametrize("changes, field, value", [
    ({"occupation": "Phi hành gia"}, "occupation", "Phi hành gia"),
    ({"hobbies": (SPORT, "Nhóm sưu tầm tem")}, "hobbies", "Nhóm sưu tầm tem"),
    ({"gender": "other", "gender_source": Provenance.DECLARED}, "gender", "other"),
    ({"gender": "Male", "gender_source": Provenance.DECLARED}, "gender", "Male"),
])
def test_an_unknown_catalogue_value_is_never_stored(catalogue, outcome, changes, field, value):
    with pytest.raises(UnknownCatalogueValue) as raised:
        apply_collection(ProfileCollection(outcome, Channel.CALL_CENTRE, **changes), catalogue)
    assert (raised.value.field, raised.value.value) == (field, value)
    assert field in str(raised.value) and value in str(raised.value)


@pytest.mark.parametrize("gender, gender_source", [
    ("male", None),
    (None, Provenance.DECLARED),
    ("female", Provenance.REFUSAL_DEFAULT),
])
def test_a_gender_must_come_with_how_it_was_obtained(gender, gender_source):
    with pytest.raises(ValueError, match="gender_source"):
        ProfileCollection(CollectionOutcome.PROVIDED, Channel.STORE, gender=gender, gender_source=gender_source)


def test_a_provided_collection_without_any_value_is_refused(catalogue):
    with pytest.raises(ValueError, match="no value"):
        apply_collection(ProfileCollection(CollectionOutcome.PROVIDED, Channel.STORE, occupation="  "), catalogue)


# --- `careflow eligibility` ------------------------------------------------------------------------

RECORD = {
    "call_id": "c-42", "answered_at": "2026-05-01T00:30:00Z", "owner_type": "individual",
    "subscription_type": "postpaid", "caller_is_user": True, "call_reason": "general", "customer_mood": "normal",
    "tier": "standard", "subscribed_since": "2021-05-01", "kndl_member": False, "gender": "male", "occupation": "",
    "hobbies": [TRAVEL],
}


@pytest.mark.parametrize("changes, expected", [
    ({}, {"target": True, "priority": True, "missing_fields": ["occupation"], "skip_reasons": []}),
    ({"subscribed_since": "2021-05-02", "gender": None, "hobbies": None},
     {"target": True, "priority": False, "missing_fields": ["gender", "hobbies", "occupation"], "skip_reasons": []}),
    ({"answered_at": "2026-05-01T15:00:00Z", "owner_type": "company", "occupation": OFFICE},
     {"target": False, "priority": True, "missing_fields": [],
      "skip_reasons": ["company_owned", "outside_hours", "profile_complete"]}),
])
def test_explain_call_gives_exactly_the_decision(changes, expected):
    result = explain_call({**RECORD, **changes})
    assert result == {"call_id": "c-42", **expected, "notes": []}
    assert list(result) == ["call_id", "target", "priority", "missing_fields", "skip_reasons", "notes"]
    assert json.loads(json.dumps(result)) == result


def test_explain_call_counts_a_crm_value_outside_the_catalogue_as_present():
    assert explain_call({**RECORD, "occupation": "Phi hành gia"})["missing_fields"] == []


@pytest.mark.parametrize("changes, field, reason", [
    ({"call_id": None}, "call_id", "expected a string"),
    ({"call_id": " "}, "call_id", "empty"),
    ({"answered_at": "2026-05-01T07:30:00"}, "answered_at", "offset"),
    ({"answered_at": "yesterday"}, "answered_at", "ISO 8601"),
    ({"answered_at": 1714523400}, "answered_at", "expected an ISO 8601"),
    ({"owner_type": "household"}, "owner_type", "one of individual, company, organization"),
    ({"subscription_type": "PREPAID"}, "subscription_type", "expected one of"),
    ({"call_reason": 3}, "call_reason", "expected a string"),
    ({"customer_mood": "angry"}, "customer_mood", "expected one of"),
    ({"caller_is_user": "true"}, "caller_is_user", "true or false"),
    ({"kndl_member": 1}, "kndl_member", "true or false"),
    ({"subscribed_since": "15/03/2021"}, "subscribed_since", "YYYY-MM-DD"),
    ({"subscribed_since": "20210315"}, "subscribed_since", "YYYY-MM-DD"),
    ({"subscribed_since": "2021-02-30"}, "subscribed_since", "YYYY-MM-DD"),
    ({"gender": 0}, "gender", "a string or null"),
    ({"hobbies": TRAVEL}, "hobbies", "a list of strings"),
    ({"hobbies": [TRAVEL, 7]}, "hobbies", "a list of strings"),
])
def test_explain_call_names_the_bad_field_and_why(changes, field, reason):
    with pytest.raises(ValueError) as raised:
        explain_call({**RECORD, **changes})
    assert str(raised.value).startswith(f"{field}: ") and reason in str(raised.value)


@pytest.mark.parametrize("field", sorted(RECORD))
def test_explain_call_names_a_missing_field(field):
    record = {name: value for name, value in RECORD.items() if name != field}
    with pytest.raises(ValueError, match=f"^{field}: missing$"):
        explain_call(record)


@pytest.mark.parametrize("changes, note", [
    ({"call_reason": "roaming_activation"}, "call_reason 'roaming_activation' is not one careflow knows: read as other"),
    ({"tier": "gold"}, "tier 'gold' is not one careflow knows: read as standard"),
])
def test_a_reason_or_tier_careflow_does_not_know_is_decided_with_a_note(changes, note):
    result = explain_call({**RECORD, **changes})
    assert (result["target"], result["skip_reasons"], result["notes"]) == (True, [], [note])


def test_explain_call_wants_a_json_object():
    with pytest.raises(ValueError, match="record: expected a JSON object"):
        explain_call([RECORD])


# --- B4: a refusal fills only empty fields; provenance from CRM files ---------------------------

def test_a_refusal_keeps_what_the_customer_declared_on_an_earlier_call(catalogue):
    current = dataclasses.replace(SUBSCRIBER, occupation=TEACHER)
    update = apply_collection(ProfileCollection(CollectionOutcome.REFUSED, Channel.CALL_CENTRE), catalogue, current)
    assert update.occupation is None  # left out: the declared teacher stays
    assert update.hobbies == FieldValue((TRAVEL,), Provenance.REFUSAL_DEFAULT)


def test_a_refusal_on_a_complete_profile_changes_nothing(catalogue):
    current = dataclasses.replace(SUBSCRIBER, occupation=TEACHER, hobbies=(SPORT,))
    update = apply_collection(ProfileCollection(CollectionOutcome.REFUSED, Channel.STORE), catalogue, current)
    assert (update.occupation, update.hobbies) == (None, None)


def test_a_dropped_call_owes_only_the_fields_still_missing(catalogue):
    current = dataclasses.replace(SUBSCRIBER, gender="male")
    result = apply_collection(ProfileCollection(CollectionOutcome.DROPPED, Channel.CALL_CENTRE, occupation=TEACHER),
                              catalogue, current)
    assert result.missing_fields == (ProfileField.HOBBIES,)


@pytest.mark.parametrize("current, provenance, replaced", [
    (None, "refusal_default", True), ("", "refusal_default", True), (TEACHER, "refusal_default", False),
    (OFFICE, "refusal_default", False), (TEACHER, "declared", True), (TEACHER, None, False), ([], "refusal_default", True),
    ([SPORT], "refusal_default", False),
])
def test_a_refusal_default_never_replaces_a_value(current, provenance, replaced):
    from shared.domain.profiles import replaces
    assert replaces(current, provenance) is replaced


@pytest.mark.parametrize("written, provenance", [
    ("declared", Provenance.DECLARED), (" Agent assessed ", Provenance.AGENT_ASSESSED),
    ("refusal-default", Provenance.REFUSAL_DEFAULT), ("", None), (None, None), ("crm", None),
])
def test_provenance_as_crm_files_write_it_unknown_otherwise(written, provenance):
    from shared.domain.profiles import provenance_of
    assert provenance_of(written) == provenance
