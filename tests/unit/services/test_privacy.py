"""Erasure in-process: a person who went through outreach, a care case and the call centre is
erased from every table and from the stored outputs of processed events, stays suppressed, and
downstream subscribers hear subject-erased; requests are listed on time."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from sqlalchemy import select

from services import REGISTRY, load
from shared.operators.imports import lead_fields
from shared.operators.privacy import import_check
from shared.privacy import requests
from shared.privacy.subjects import Subject, keyed_hash, resolve
from shared.runner import replay
from shared.store.models import Base, ProcessedEvent, SubjectRequest
from tests.handlers import MORNING, InProcess

KEY = "test-privacy-key"
MOBILE, EMAIL, NAME, TAX = "+84912345678", "ketoan@anphat.com.vn", "Công ty TNHH An Phát", "0100233488"
LEAD = f"mst:{TAX}"
OTHER = "+84987654321"


@pytest.fixture
def system(tmp_path):
    url = f"sqlite:///{tmp_path / 'careflow.db'}"
    names = ("segmenter", "lead-ledger", "calls", "replies", "escalations", "care-cases", "subscriber-directory",
             "profile-ledger", "privacy")
    return {name: InProcess(load(name), database_url=url, privacy_key=KEY) for name in names}


def _normalized(system, **overrides):
    fields = dict(lead_id=LEAD, tax_code=TAX, tax_code_valid=True, company_name=NAME, province_code="01",
                  phones=[{"e164": MOBILE, "type": "mobile"}], emails=[EMAIL], invalid_phones=[], invalid_emails=[],
                  has_email=True, has_mobile=True, has_landline=False, outreach_list="callable",
                  enrichment_source=None)
    return system["segmenter"].event("lead-normalized", **{**fields, **overrides})


def _live(system) -> dict:
    """The person through outreach, a care case and the call centre; what was sent."""
    seg, ledger = system["segmenter"], system["lead-ledger"]
    for contact in (MOBILE, EMAIL, OTHER):
        seg.handle("consent-changed", contact=contact, contact_kind="email" if "@" in contact else "phone",
                   channel="all", status="granted", source="consent list 2026",
                   evidence=f"form of {NAME}" if contact != OTHER else "form of someone else",
                   changed_at=seg.now)
    ledger.handle("lead-imported", lead_id=LEAD, source="bhxh.csv", row_number=1, tax_code=TAX, company_name=NAME,
                  phones=MOBILE, emails=EMAIL)
    normalized = _normalized(system)
    ledger.send(normalized)
    plan = seg.send(normalized)
    assert {"email-requested", "sms-requested", "call-requested"} <= set(plan.types())
    ended = system["calls"].handle("call-ended", call_id="c1", subject_type="lead", subject_id=LEAD, number=MOBILE,
                                   direction="outbound", disposition="right_person")
    (supported,) = ended.of("customer-supported")
    system["care-cases"].send(supported)
    ledger.send(supported)
    system["care-cases"].handle("care-requested", request_id="r1", customer_id=LEAD, kind="complaint",
                                channel="hotline", text=None)
    system["escalations"].handle("lead-escalated", lead_id=LEAD, province_code="01", owner="BDT-01",
                                 reason="unreachable", detail=f"{NAME} did not answer")
    system["subscriber-directory"].handle("subscriber-upserted", msisdn=MOBILE, owner_type="individual",
                                          subscription_type="prepaid", tier="standard",
                                          subscribed_since=dt.date(2020, 1, 1), kndl_member=False, gender="female",
                                          hobbies=[])
    system["profile-ledger"].handle("profile-prompted", call_id="p1", msisdn=MOBILE, priority=False, persuade=False,
                                    script="hello", channel="1090")
    return {"normalized": normalized}


def _everything(system) -> str:
    """Every row of every table, the stored outputs decoded to their bytes, as one text to search."""
    seen = []
    with system["privacy"].session() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)):
                seen.append(repr(tuple(row)))
        for (blob,) in session.execute(select(ProcessedEvent.outputs)):
            for output in replay.unpack(blob):
                seen.append((output.key + output.value).decode("utf-8", "replace"))
    return "\n".join(seen)


def _erase(system, kind: str = "phone", value: str = MOBILE):
    privacy = system["privacy"]
    with privacy.session() as session:
        subject = resolve(session, kind, value)
        request = requests.record(session, privacy.settings, "erasure", keyed_hash(KEY, value), kind, privacy.now)
        session.commit()
        request_id = request.request_id
    event = privacy.event("subject-erasure-requested", subject_id=keyed_hash(KEY, value), request_id=request_id,
                          identifier_kind=kind, requested_at=privacy.now, **subject.fields())
    results = {name: service.send(event) for name, service in system.items()}
    return subject, request_id, results


def test_an_erased_person_is_nowhere_in_the_store_nor_in_the_stored_outputs(system):
    _live(system)
    before = _everything(system)
    assert all(needle in before for needle in (MOBILE, EMAIL, NAME))
    subject, request_id, results = _erase(system)
    assert subject.lead_ids == {LEAD} and subject.emails == {EMAIL} and subject.subscribers == {MOBILE}
    after = _everything(system)
    for needle in (MOBILE, EMAIL, NAME, TAX):
        assert needle not in after
    assert OTHER in after  # someone else's consent stays
    (erased,) = results["privacy"].of("subject-erased")
    assert erased.subject_id == keyed_hash(KEY, MOBILE) and erased.request_id == request_id
    assert "contacts" in erased.data_kinds and erased.suppressed >= 4
    assert erased.topics_clear_by == MORNING + dt.timedelta(days=7)
    assert not any(n in json.dumps(erased.model_dump(mode="json"), ensure_ascii=False) for n in (MOBILE, EMAIL, NAME))
    with system["privacy"].session() as session:
        assert session.get(SubjectRequest, request_id).answered_at == MORNING


def test_after_erasure_a_replay_or_a_new_event_does_not_bring_the_person_back(system):
    seen = _live(system)
    _erase(system)
    replayed = system["segmenter"].send(seen["normalized"])  # the same event, redelivered
    again = system["segmenter"].send(_normalized(system))  # a new event about them
    system["lead-ledger"].send(_normalized(system))
    system["subscriber-directory"].handle("subscriber-upserted", msisdn=MOBILE, owner_type="individual",
                                          subscription_type="prepaid", tier="standard",
                                          subscribed_since=dt.date(2020, 1, 1), kndl_member=False, hobbies=[])
    consent = system["segmenter"].handle("consent-changed", contact=EMAIL, contact_kind="email", channel="all",
                                         status="granted", source="a later list", changed_at=MORNING)
    assert replayed.outputs == again.outputs == consent.outputs == []
    after = _everything(system)
    assert MOBILE not in after and EMAIL not in after and NAME not in after


def test_a_later_import_of_the_list_is_rejected_row_by_row(system):
    _live(system)
    _erase(system, "tax_code", TAX)
    with system["privacy"].session() as session:
        check = import_check(session, system["privacy"].settings)
        row = {"tax_code": "0100233488", "company_name": NAME, "phones": MOBILE, "emails": EMAIL}
        assert check(lead_fields("bhxh.csv")(1, row))
        assert not check(lead_fields("bhxh.csv")(2, {**row, "tax_code": "0101248141"}))


def test_every_service_that_keeps_personal_data_erases_on_the_request():
    writers = [name for name in REGISTRY if load(name).writes]
    assert all("subject-erasure-requested" in load(name).handlers for name in writers)


def test_requests_are_due_under_the_decree_deadlines_and_listed_overdue_first(system):
    privacy = system["privacy"]
    with privacy.session() as session:
        late = requests.record(session, privacy.settings, "access", "a" * 64, "phone", MORNING - dt.timedelta(days=11))
        soon = requests.record(session, privacy.settings, "erasure", "b" * 64, "email", MORNING)
        requests.record(session, privacy.settings, "withdrawal", "c" * 64, "phone", MORNING, answered="done")
        session.commit()
        listed = requests.open_requests(session, MORNING)
    assert [r.request_id for r in listed] == [late.request_id, soon.request_id]
    assert listed[0].overdue and not listed[1].overdue
    assert listed[1].due_at == MORNING + dt.timedelta(days=10)


def test_an_access_export_holds_the_consent_evidence(system):
    _live(system)
    with system["privacy"].session() as session:
        held = requests.export(session, resolve(session, "email", EMAIL))
    evidence = held["consent_evidence"]
    assert {(e["contact"], e["status"], e["channel"], e["source"]) for e in evidence} >= {
        (EMAIL, "granted", "all", "consent list 2026"), (MOBILE, "granted", "all", "consent list 2026")}
    assert all(e["changed_at"] for e in evidence)
    assert held["care_cases"] and held["subscribers"] and held["leads"]


def test_dead_letters_and_logs_of_personal_data_show_none_of_it(caplog):
    from shared.observability.logs import RedactingFilter

    directory = InProcess(load("subscriber-directory"))
    care = InProcess(load("care-cases"))
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO):
        failed = [directory.handle("subscriber-profile-updated", msisdn=MOBILE, call_id="c", channel="1090",
                                   change_reason=f"{NAME} <{EMAIL}>", gender="male", gender_provenance="declared",
                                   hobbies=[]),
                  care.handle("care-requested", request_id="r", customer_id=EMAIL, kind="complaint",
                              channel=MOBILE, text=NAME),
                  directory.raw("subscriber-upserted", b"\xc3\x01" + b"\x00" * 8 + NAME.encode())]
    headers = [value.decode() for emitted in failed for output in emitted.dead_letters for _, value in output.headers]
    assert len(headers) == 3 * 7
    shown = "\n".join(headers) + "\n".join(r.getMessage() + repr(r.__dict__) for r in caplog.records)
    assert MOBILE not in shown and EMAIL not in shown and "912345678" not in shown and NAME not in shown


def test_without_the_privacy_key_erasure_refuses_to_run():
    from shared.privacy.subjects import PrivacyKeyMissing

    with pytest.raises(PrivacyKeyMissing):
        keyed_hash(None, MOBILE)
    assert Subject().needles() == []


def test_the_normalizer_does_not_pass_on_an_upstream_lead_of_an_erased_person():
    from shared.privacy import suppression
    from shared.privacy.subjects import Subject

    normalizer = InProcess(load("normalizer"), privacy_key=KEY)
    with normalizer.session() as session:
        suppression.suppress(session, KEY, Subject(lead_ids={LEAD}, tax_codes={TAX}), "r", MORNING)
        session.commit()
    fields = dict(source="crm", row_number=1, company_name=NAME, phones="0912 345 678", emails=EMAIL)
    assert normalizer.handle("lead-imported", lead_id=LEAD, tax_code="0100 233 488", **fields).outputs == []
    other = normalizer.handle("lead-imported", lead_id="mst:0101248141", tax_code="0101248141", **fields)
    assert other.types() == ["lead-normalized"]
