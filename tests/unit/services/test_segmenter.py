"""The segmenter's handlers in-process: a normalized lead's channel plan under the contact rules."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from services import load
from services.segmenter import handler as segmenter_handler
from shared.domain.contact_rules import ContactPolicy
from shared.privacy.subjects import keyed_hash
from shared.service import Service
from shared.store.models import (Consent, ConsentEvidence, Contact, Deadline, LeadStateRow, LifecycleRefusal,
                                 OutreachLead, OutreachRequest, ProcessedEvent)
from tests.handlers import MORNING, InProcess

VN = dt.timezone(dt.timedelta(hours=7))

MOBILE, LANDLINE, EMAIL = "+84912345678", "+842838251234", "ketoan@anphat.com.vn"


def normalized(lead_id: str = "mst:0100233488", phones=(), emails=(), outreach_list: str = "callable",
               province_code: str = "01", **fields):
    return dict(lead_id=lead_id, tax_code="0100233488", tax_code_valid=True, company_name="Công ty Minh An",
                province_code=province_code, phones=[{"e164": e164, "type": kind} for e164, kind in phones],
                emails=list(emails), invalid_phones=[], invalid_emails=[], has_email=bool(emails),
                has_mobile=any(k == "mobile" for _, k in phones), has_landline=any(k == "landline" for _, k in phones),
                outreach_list=outreach_list, **fields)


def changed(segmenter: InProcess, contact: str, status: str, channel: str = "all"):
    """A consent-changed event about `contact` (a consent list, the Do-Not-Call list, a data-subject request)."""
    return segmenter.handle("consent-changed", contact=contact, contact_kind="email" if "@" in contact else "phone",
                            channel=channel, status=status, source="test", evidence="hợp đồng",
                            changed_at=segmenter.now)


def granted(segmenter: InProcess, *contacts: str) -> None:
    for contact in contacts:
        changed(segmenter, contact, "granted")


def test_a_callable_lead_with_consent_gets_its_email_sms_and_first_call_on_the_mobile():
    segmenter = InProcess(load("segmenter"))
    granted(segmenter, MOBILE, LANDLINE, EMAIL)
    emitted = segmenter.handle("lead-normalized", **normalized(
        phones=[(LANDLINE, "landline"), (MOBILE, "mobile")], emails=[EMAIL]))
    assert emitted.types() == ["email-requested", "sms-requested", "call-requested"]
    assert emitted.of("sms-requested")[0].text.startswith("[QC]")
    assert emitted.of("call-requested")[0].to == MOBILE
    assert all(output.key == b"mst:0100233488" for output in emitted.outputs)


def test_a_lead_without_consent_anywhere_is_escalated_as_unreachable():
    segmenter = InProcess(load("segmenter"))
    emitted = segmenter.handle("lead-normalized", **normalized(phones=[(MOBILE, "mobile")]))
    (escalated,) = emitted.of("lead-escalated")
    assert (escalated.reason, escalated.owner) == ("unreachable", "BDT-01")


def test_a_redelivered_event_is_not_handled_twice_and_its_outputs_come_back_the_same():
    segmenter = InProcess(load("segmenter"))
    granted(segmenter, MOBILE)
    event = segmenter.event("lead-normalized", **normalized(phones=[(MOBILE, "mobile")]))
    first, again = segmenter.send(event), segmenter.send(event)
    assert again.outputs == first.outputs


def test_the_sms_carries_the_qc_label_and_its_opt_out_and_the_email_its_opt_out_footer():
    segmenter = InProcess(load("segmenter"))
    granted(segmenter, MOBILE, EMAIL)
    emitted = segmenter.handle("lead-normalized", **normalized(phones=[(MOBILE, "mobile")], emails=[EMAIL]))
    (sms,), (email,) = emitted.of("sms-requested"), emitted.of("email-requested")
    policy = ContactPolicy()
    assert sms.text.startswith("[QC] ") and sms.text.endswith(policy.sms_opt_out_text)
    assert (sms.to, sms.marketing, sms.not_before) == (MOBILE, True, None)
    assert email.body.endswith(policy.email_opt_out) and email.subject
    assert (email.to, email.marketing, email.not_before) == (EMAIL, True, None)


def test_outside_the_permitted_hours_the_sms_and_the_call_wait_for_their_window_and_the_email_does_not():
    late = dt.datetime(2026, 3, 10, 23, 30, tzinfo=VN)
    segmenter = InProcess(load("segmenter"), now=late.astimezone(dt.timezone.utc))
    granted(segmenter, MOBILE, EMAIL)
    emitted = segmenter.handle("lead-normalized", **normalized(phones=[(MOBILE, "mobile")], emails=[EMAIL]))
    next_day = dt.date(2026, 3, 11)
    assert emitted.of("sms-requested")[0].not_before == dt.datetime.combine(next_day, dt.time(7), VN)
    assert emitted.of("call-requested")[0].not_before == dt.datetime.combine(next_day, dt.time(8), VN)
    assert emitted.of("email-requested")[0].not_before is None


def test_a_number_called_for_another_lead_today_is_called_again_only_after_24_hours():
    segmenter = InProcess(load("segmenter"))
    granted(segmenter, MOBILE)
    segmenter.handle("lead-normalized", **normalized(phones=[(MOBILE, "mobile")]))
    emitted = segmenter.handle("lead-normalized", **normalized(lead_id="mst:0314409058", phones=[(MOBILE, "mobile")]))
    assert emitted.of("call-requested")[0].not_before == segmenter.now + dt.timedelta(hours=24)
    assert emitted.of("sms-requested")[0].not_before is None  # three SMS a day are allowed


def test_a_do_not_call_mobile_gets_neither_sms_nor_call_and_the_lead_waits_for_its_email_reply():
    segmenter = InProcess(load("segmenter"))
    granted(segmenter, MOBILE, EMAIL)
    changed(segmenter, MOBILE, "dnc_listed")
    emitted = segmenter.handle("lead-normalized", **normalized(phones=[(MOBILE, "mobile")], emails=[EMAIL]))
    assert emitted.types() == ["email-requested"]
    with segmenter.session() as session:
        (wait,) = session.scalars(select(Deadline)).all()
    assert (wait.kind, wait.subject_id, wait.due_at) == ("reply_wait", "mst:0100233488",
                                                          segmenter.now + dt.timedelta(hours=72))


def test_a_do_not_call_number_without_another_channel_is_escalated_with_the_rule_that_blocked_it():
    segmenter = InProcess(load("segmenter"))
    granted(segmenter, MOBILE)
    changed(segmenter, MOBILE, "dnc_listed")
    (escalated,) = segmenter.handle("lead-normalized", **normalized(phones=[(MOBILE, "mobile")])).of("lead-escalated")
    assert escalated.reason == "unreachable" and "dnc_listed" in escalated.detail


def test_a_lead_with_neither_phone_nor_email_is_escalated_to_its_province_as_insufficient():
    emitted = InProcess(load("segmenter")).handle("lead-normalized", **normalized(
        province_code="24", outreach_list="insufficient"))
    (escalated,) = emitted.of("lead-escalated")
    assert (escalated.reason, escalated.owner) == ("insufficient_contacts", "BDT-24")
    assert [output.key for output in emitted.outputs] == [b"mst:0100233488"]


def test_a_lead_imported_again_is_not_contacted_again_but_its_new_number_is_kept_for_its_calls():
    segmenter = InProcess(load("segmenter"))
    granted(segmenter, MOBILE, LANDLINE)
    segmenter.handle("lead-normalized", **normalized(phones=[(MOBILE, "mobile")]))
    again = segmenter.handle("lead-normalized", **normalized(phones=[(MOBILE, "mobile"), (LANDLINE, "landline")]))
    assert again.events == []
    with segmenter.session() as session:
        assert session.get(Contact, ("mst:0100233488", LANDLINE)) is not None


def test_an_erased_person_leaves_only_a_suppression_entry_and_is_never_contacted_again():
    segmenter = InProcess(load("segmenter"))
    granted(segmenter, MOBILE)
    segmenter.handle("lead-normalized", **normalized(phones=[(MOBILE, "mobile")]))
    # The SMS and the call asked for and maybe not yet carried out are recalled.
    assert [(e.channel, e.reason) for e in changed(segmenter, MOBILE, "erased").of("outreach-cancelled")] == [
        ("call", "erased (test)"), ("sms", "erased (test)")]
    changed(segmenter, MOBILE, "granted")  # erasure is final: a later list cannot bring the person back
    with segmenter.session() as session:
        assert session.scalars(select(Contact).where(Contact.value == MOBILE)).all() == []
        assert [e.evidence for e in session.scalars(select(ConsentEvidence))] == [None, None, None]
        assert session.get(Consent, MOBILE).erased
    # A later list naming the number again: nobody is contacted and the number is not stored again.
    emitted = segmenter.handle("lead-normalized", **normalized(lead_id="mst:0314409058", phones=[(MOBILE, "mobile")]))
    assert emitted.types() == ["lead-escalated"]
    assert "erased" in emitted.of("lead-escalated")[0].detail
    with segmenter.session() as session:
        assert session.scalars(select(Contact).where(Contact.value == MOBILE)).all() == []


# --- a batch of leads at once: the contact rules hold across the batch -----------------------------

def _sharing(segmenter: InProcess, *lead_ids: str) -> list:
    return [segmenter.event("lead-normalized", **normalized(lead_id=lead_id, phones=[(MOBILE, "mobile")]))
            for lead_id in lead_ids]


def _plan(emitted) -> tuple[list, list]:
    return ([sms.not_before for sms in emitted.of("sms-requested")],
            [call.not_before for call in emitted.of("call-requested")])


def test_leads_of_one_batch_sharing_a_mobile_share_its_daily_caps_as_if_handled_one_by_one():
    one_batch, one_by_one = InProcess(load("segmenter")), InProcess(load("segmenter"))
    for segmenter in (one_batch, one_by_one):
        granted(segmenter, MOBILE)
    leads = [f"mst:010023348{n}" for n in range(5)]
    together = one_batch.send(*_sharing(one_batch, *leads))
    apart = [one_by_one.send(event) for event in _sharing(one_by_one, *leads)]
    day = dt.timedelta(hours=24)
    # 3 marketing SMS and 1 call a day per number: the rest waits for the window to free.
    expected = ([None, None, None, MORNING + day, MORNING + day],
                [None, MORNING + day, MORNING + 2 * day, MORNING + 3 * day, MORNING + 4 * day])
    assert _plan(together) == expected
    assert (sum((_plan(e)[0] for e in apart), []), sum((_plan(e)[1] for e in apart), [])) == expected


def test_the_caps_count_the_requests_earlier_batches_stored():
    segmenter = InProcess(load("segmenter"))
    granted(segmenter, MOBILE)
    segmenter.send(*_sharing(segmenter, "mst:0100233481", "mst:0100233482"))
    later = segmenter.send(*_sharing(segmenter, "mst:0100233483", "mst:0100233484"))
    day = dt.timedelta(hours=24)
    assert _plan(later) == ([None, MORNING + day], [MORNING + 2 * day, MORNING + 3 * day])


def failing_for(lead_id: str) -> Service:
    """The segmenter, but its handler fails for `lead_id` after the lead's requests were made."""
    def failing_for_one(event, ctx):
        segmenter_handler.on_lead_normalized(event, ctx)
        if event.lead_id == lead_id:
            raise ValueError("this lead breaks after its requests were made")

    return Service(name="segmenter", handlers={"lead-normalized": failing_for_one,
                                               "consent-changed": segmenter_handler.on_consent_changed},
                   prefetch=segmenter_handler.prefetch, emits=segmenter_handler.SERVICE.emits)


def test_an_event_that_fails_in_a_batch_leaves_no_rows_and_no_requests_that_count_and_the_rest_stand():
    segmenter = InProcess(failing_for("mst:0100233482"))
    granted(segmenter, MOBILE)
    emitted = segmenter.send(*_sharing(segmenter, "mst:0100233481", "mst:0100233482", "mst:0100233483"))
    assert len(emitted.dead_letters) == 1
    assert {e.lead_id for e in emitted.of("sms-requested")} == {"mst:0100233481", "mst:0100233483"}
    # The failed lead's call was rolled back: the third lead's call is the second of the day, not the third.
    assert _plan(emitted) == ([None, None], [None, MORNING + dt.timedelta(hours=24)])
    with segmenter.session() as session:
        assert set(session.scalars(select(OutreachLead.lead_id))) == {"mst:0100233481", "mst:0100233483"}
        assert set(session.scalars(select(OutreachRequest.lead_id))) == {"mst:0100233481", "mst:0100233483"}
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 1 + 2  # the consent, two leads


def test_a_redelivered_batch_republishes_what_it_handled_and_handles_only_what_is_new():
    segmenter = InProcess(load("segmenter"))
    granted(segmenter, MOBILE)
    first, second = _sharing(segmenter, "mst:0100233481", "mst:0100233482")
    before = segmenter.send(first)
    again = segmenter.send(first, second)
    assert again.outputs[:len(before.outputs)] == before.outputs
    assert {e.lead_id for e in again.of("sms-requested")} == {"mst:0100233481", "mst:0100233482"}
    with segmenter.session() as session:
        assert session.scalar(select(func.count()).select_from(OutreachRequest)) == 4  # an SMS and a call each


def test_requests_the_contact_rules_block_are_kept_by_lead_channel_and_reason_for_the_funnel():
    from shared.store.models import BlockedRequest

    segmenter = InProcess(load("segmenter"))
    other_mobile = "+84987654321"
    granted(segmenter, MOBILE, EMAIL)
    changed(segmenter, MOBILE, "dnc_listed")
    # One batch of two leads: the rows are written with the batch's others.
    segmenter.send(segmenter.event("lead-normalized", **normalized(phones=[(MOBILE, "mobile")], emails=[EMAIL])),
                   segmenter.event("lead-normalized", **normalized(lead_id="mst:0314409058",
                                                                    phones=[(other_mobile, "mobile")])))
    granted(segmenter, other_mobile)
    segmenter.advance(dt.timedelta(hours=14))  # midnight in Vietnam: no marketing SMS or call until morning
    night = segmenter.now
    emitted = segmenter.handle("lead-normalized", **normalized(lead_id="mst:0101234567",
                                                               phones=[(other_mobile, "mobile")]))
    assert emitted.types() == ["sms-requested", "call-requested"]
    with segmenter.session() as session:
        rows = sorted((r.lead_id, r.channel, r.reason, r.decided_at) for r in session.scalars(select(BlockedRequest)))
    assert rows == [("mst:0100233488", "call", "dnc_listed", MORNING), ("mst:0100233488", "sms", "dnc_listed", MORNING),
                    ("mst:0101234567", "call", "hours", night), ("mst:0101234567", "sms", "hours", night),
                    ("mst:0314409058", "call", "no_consent", MORNING), ("mst:0314409058", "sms", "no_consent", MORNING)]


def test_a_consent_list_erasure_keeps_the_contact_blocked_by_its_keyed_hash_not_its_clear_value():
    from shared.privacy.subjects import keyed_hash
    from shared.store.models import Suppression

    segmenter = InProcess(load("segmenter"), privacy_key="test-privacy-key")
    granted(segmenter, MOBILE, EMAIL)
    segmenter.handle("lead-normalized", **normalized(phones=[(MOBILE, "mobile")], emails=[EMAIL]))
    emitted = changed(segmenter, MOBILE, "erased")
    assert {e.channel for e in emitted.of("outreach-cancelled")} == {"sms", "call"}
    with segmenter.session() as session:
        held = {model.__tablename__: [str(list(row)) for row in session.execute(select(model.__table__))]
                for model in (Consent, ConsentEvidence, Contact)}
        (entry,) = session.scalars(select(Suppression)).all()
    assert not [row for rows in held.values() for row in rows if MOBILE in row], held
    assert any(EMAIL in row for row in held["consents"])  # the other contact stays
    assert (entry.hash, entry.kind) == (keyed_hash("test-privacy-key", MOBILE), "phone")
    # Still blocked: a later consent list granting it and a new lead with it reach no one.
    assert changed(segmenter, MOBILE, "granted").types() == []
    later = segmenter.handle("lead-normalized", **normalized(lead_id="mst:0314409058", phones=[(MOBILE, "mobile")]))
    assert later.types() == []
    with segmenter.session() as session:
        assert session.scalar(select(func.count()).select_from(Consent).where(Consent.contact == MOBILE)) == 0


def test_a_read_only_service_that_stages_a_row_is_refused_and_nothing_is_written():
    from shared.domain.contact_rules import ConsentState
    from shared.outreach import requests
    from shared.service import StoreAccess

    def records_a_consent(event, ctx):
        requests.record_consent(ctx, MOBILE, ConsentState.unknown())  # a write, staged as a plain row

    reader = InProcess(Service(name="normalizer", handlers={"lead-normalized": records_a_consent},
                               store=StoreAccess.READ, emits=()))
    emitted = reader.handle("lead-normalized", **normalized())
    (dead,) = emitted.dead_letters
    assert b"reads the store only" in dict(dead.headers)["error"]
    with reader.session() as session:
        assert session.scalars(select(Consent)).all() == []


def test_a_lead_supported_before_its_plan_is_neither_contacted_nor_escalated_and_the_refused_outreach_is_kept():
    # Supported on the hotline before the segmenter saw it: normalized stays "supported", outreach is refused.
    segmenter = InProcess(load("segmenter"))
    granted(segmenter, MOBILE)
    with segmenter.session() as session, session.begin():
        session.add(LeadStateRow(lead_id="mst:0100233488", stage="supported", owner=None, updated_at=segmenter.now))
    emitted = segmenter.handle("lead-normalized", **normalized(phones=[(MOBILE, "mobile")]))
    assert emitted.types() == []
    with segmenter.session() as session:
        assert session.get(LeadStateRow, "mst:0100233488").stage == "supported"
        assert [(r.happening, r.stage) for r in session.scalars(select(LifecycleRefusal))] == [
            ("outreach_started", "supported")]
        assert session.scalar(select(func.count()).select_from(OutreachRequest)) == 0


def test_consent_changed_between_leads_of_one_batch_applies_to_the_next_lead_as_if_handled_one_by_one():
    # The batch reads its leads' consent up front: each change in the batch is what the next lead sees.
    one_batch, one_by_one = InProcess(load("segmenter")), InProcess(load("segmenter"))

    def events(segmenter: InProcess) -> list:
        def consent(status: str, channel: str = "all"):
            return segmenter.event("consent-changed", contact=MOBILE, contact_kind="phone", channel=channel,
                                   status=status, source="test", evidence="hợp đồng", changed_at=segmenter.now)
        lead = iter(f"mst:010023348{n}" for n in range(5))
        return [segmenter.event("lead-normalized", **normalized(lead_id=next(lead), phones=[(MOBILE, "mobile")])),
                consent("granted"),
                segmenter.event("lead-normalized", **normalized(lead_id=next(lead), phones=[(MOBILE, "mobile")])),
                consent("withdrawn", "sms"),
                segmenter.event("lead-normalized", **normalized(lead_id=next(lead), phones=[(MOBILE, "mobile")])),
                consent("erased"),
                segmenter.event("lead-normalized", **normalized(lead_id=next(lead), phones=[(MOBILE, "mobile")]))]

    together = one_batch.send(*events(one_batch))
    apart = [one_by_one.send(event) for event in events(one_by_one)]

    def plain(kinds_and_events) -> list:
        # Without the ids (each side's events have their own): the same events, in the same order.
        return [(kind, {k: v for k, v in event.model_dump().items() if k not in ("envelope", "request_ids")})
                for kind, event in kinds_and_events]

    assert plain(together.events) == plain([pair for emitted in apart for pair in emitted.events])
    assert together.types() == ["lead-escalated",  # no consent yet
                                "sms-requested", "call-requested",  # granted
                                "outreach-cancelled",  # SMS withdrawn: the pending one is recalled
                                "call-requested",  # no SMS; the call waits a day for its cap
                                "outreach-cancelled", "outreach-cancelled",  # erased: the calls and the SMS recalled
                                "lead-escalated"]
    assert together.of("call-requested")[1].not_before == MORNING + dt.timedelta(hours=24)
    assert "erased" in together.of("lead-escalated")[-1].detail


def test_a_person_erased_between_two_leads_of_one_batch_is_not_contacted_for_the_second():
    # The batch reads its leads' consent up front: an erasure in the batch drops what it read.
    for status, key in (("erased", None), ("erased", "a-key"), (None, "a-key")):  # a list's erasure, a DSR's
        segmenter = InProcess(load("segmenter"), **({"privacy_key": key} if key else {}))
        granted(segmenter, MOBILE)
        first = segmenter.event("lead-normalized", **normalized(lead_id="mst:0100233488", phones=[(MOBILE, "mobile")]))
        erase = (segmenter.event("consent-changed", contact=MOBILE, contact_kind="phone", channel="all", status=status,
                                 source="test", evidence="hợp đồng", changed_at=segmenter.now) if status else
                 segmenter.event("subject-erasure-requested", subject_id=keyed_hash(key, MOBILE), request_id="dsr-1",
                                 identifier_kind="phone", phones=[MOBILE], requested_at=segmenter.now))
        second = segmenter.event("lead-normalized", **normalized(lead_id="mst:0314409058", phones=[(MOBILE, "mobile")]))
        emitted = segmenter.send(first, erase, second)
        assert [(e.lead_id, e.reason) for e in emitted.of("lead-escalated")] == [("mst:0314409058", "unreachable")]
        assert [r.lead_id for r in emitted.of("sms-requested")] == ["mst:0100233488"]
