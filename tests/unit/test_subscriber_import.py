"""`careflow subscribers import`: provenance comes from the file, unknown (null) when it says nothing."""

from shared.operators.imports import subscriber_fields

ROW = {"msisdn": "0901 234 567", "owner_type": "individual", "subscription_type": "prepaid", "tier": "",
       "subscribed_since": "2020-01-02", "kndl_member": "", "gender": "female", "occupation": "Nông dân",
       "hobbies": "Nhóm du lịch"}


def test_values_without_a_provenance_column_are_of_unknown_provenance():
    fields = subscriber_fields(1, ROW)
    assert (fields["gender_provenance"], fields["occupation_provenance"], fields["hobbies_provenance"]) == (None,) * 3


def test_one_provenance_column_for_all_fields_and_one_per_field_wins():
    fields = subscriber_fields(1, ROW | {"provenance": "declared", "hobbies_provenance": "refusal_default"})
    assert (fields["gender_provenance"], fields["occupation_provenance"], fields["hobbies_provenance"]) == (
        "declared", "declared", "refusal_default")


def test_an_empty_field_has_no_provenance_whatever_the_column_says():
    assert subscriber_fields(1, ROW | {"occupation": None, "provenance": "declared"})["occupation_provenance"] is None


def test_a_tier_careflow_does_not_know_is_standard_not_a_rejected_row():
    tiers = {written: subscriber_fields(1, ROW | {"tier": written})["tier"]
             for written in ("premium", "Cao cấp", "VIP", "gold", "Kim cương", "", None)}
    assert tiers == {"premium": "premium", "Cao cấp": "premium", "VIP": "premium", "gold": "standard",
                     "Kim cương": "standard", "": "standard", None: "standard"}
