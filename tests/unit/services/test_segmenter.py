"""The segmenter's handlers in-process: a normalized lead's channel plan under the contact rules."""

from __future__ import annotations

from services import load
from tests.handlers import InProcess

MOBILE, LANDLINE, EMAIL = "+84912345678", "+842838251234", "ketoan@anphat.com.vn"


def normalized(lead_id: str = "mst:0100233488", phones=(), emails=(), outreach_list: str = "callable", **fields):
    return dict(lead_id=lead_id, tax_code="0100233488", tax_code_valid=True, company_name="Công ty Minh An",
                province_code="01", phones=[{"e164": e164, "type": kind} for e164, kind in phones],
                emails=list(emails), invalid_phones=[], invalid_emails=[], has_email=bool(emails),
                has_mobile=any(k == "mobile" for _, k in phones), has_landline=any(k == "landline" for _, k in phones),
                outreach_list=outreach_list, **fields)


def granted(segmenter: InProcess, *contacts: str) -> None:
    for contact in contacts:
        segmenter.handle("consent-changed", contact=contact, contact_kind="email" if "@" in contact else "phone",
                         channel="all", status="granted", source="test", evidence=None, changed_at=segmenter.now)


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
