"""B4 in-process: a refusal keeps declared values, a dropped call owes a call-back that is tracked."""

from __future__ import annotations

import datetime as dt

from services import load
from shared.operators.reports import profiles
from shared.store.models import Subscriber
from tests.handlers import InProcess

MSISDN, OTHER_PHONE = "+84901234567", "+84912000111"
TEACHER = "Giáo dục (Giáo viên, Giảng viên...)"


def _services(tmp_path):
    directory = InProcess(load("subscriber-directory"))
    updater, ledger = (InProcess(load(n), store=directory) for n in ("profile-updater", "profile-ledger"))
    directory.handle("subscriber-upserted", msisdn=MSISDN, owner_type="individual", subscription_type="prepaid",
                     tier="standard", subscribed_since=dt.date(2019, 1, 1), kndl_member=False,
                     occupation=TEACHER, occupation_provenance="declared")
    return directory, updater, ledger


def test_a_refusal_fills_the_empty_fields_only_and_the_directory_keeps_the_declared_one(tmp_path):
    directory, updater, _ = _services(tmp_path)
    [update] = updater.handle("profile-collected", call_id="c-1", msisdn=MSISDN, outcome="refused",
                              channel="call_centre").of("subscriber-profile-updated")
    assert (update.occupation_provenance, update.hobbies, update.hobbies_provenance) == (
        None, ["Nhóm du lịch"], "refusal_default")
    # A default arriving from elsewhere (an older producer) does not replace the declared value either.
    directory.send(directory.event("subscriber-profile-updated", **update.model_dump(exclude={"envelope"})
                                   | {"occupation": "Văn phòng (Thư ký, Thư viện, Bưu điện...)",
                                      "occupation_provenance": "refusal_default"}))
    with directory.session() as session:
        row = session.get(Subscriber, MSISDN)
        assert (row.occupation, row.occupation_provenance, row.hobbies_provenance) == (
            TEACHER, "declared", "refusal_default")


def test_a_dropped_call_owes_a_call_back_to_the_number_called_from_until_a_call_ended_closes_it(tmp_path):
    _, updater, ledger = _services(tmp_path)
    [callback] = updater.handle("profile-collected", call_id="c-2", msisdn=MSISDN, outcome="dropped",
                                channel="call_centre", caller_number="0912 000 111").of("call-requested")
    assert (callback.to, callback.missing_fields, callback.callback_for) == (OTHER_PHONE, ["gender", "hobbies"], "c-2")
    ledger.send(ledger.event("call-requested", **callback.model_dump(exclude={"envelope"})))
    with ledger.session() as session:
        assert profiles(session)["call_backs"] == {"open": 1, "open, gender missing": 1, "open, hobbies missing": 1}
    ledger.handle("call-ended", call_id="cb-1", subject_type="subscriber", subject_id=MSISDN, number=OTHER_PHONE,
                  direction="outbound", disposition="right_person")
    with ledger.session() as session:
        assert profiles(session)["call_backs"] == {"done: right_person": 1}
