"""The segmenter's batch write path (new rows staged as plain rows, written a statement per table
at the batch's end) on SQLite and on PostgreSQL: what a user sees is what the rules give lead by
lead, a redelivered batch changes nothing, and a bad event is isolated."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import select

from services import load
from shared.service import Service
from shared.store.models import (BlockedRequest, CallTask, Contact, LeadStateRow, OutreachLead, OutreachRequest,
                                 ProcessedEvent)
from tests.handlers import InProcess
from tests.unit.services.test_segmenter import EMAIL, LANDLINE, MOBILE, changed, failing_for, granted, normalized

pytestmark = pytest.mark.integration

OTHER_MOBILE = "+84987654321"
# Five leads, three sharing a mobile and an e-mail address (daily caps: 3 SMS, 3 e-mails, 1 call),
# one sharing the landline only, one whose number is on the Do-Not-Call list.
LEADS = [
    normalized(lead_id="mst:0100233481", phones=[(MOBILE, "mobile"), (LANDLINE, "landline")], emails=[EMAIL]),
    normalized(lead_id="mst:0100233482", phones=[(MOBILE, "mobile")], emails=[EMAIL]),
    normalized(lead_id="mst:0100233483", phones=[(LANDLINE, "landline")]),
    normalized(lead_id="mst:0100233484", phones=[(MOBILE, "mobile")], emails=[EMAIL, "info@anphat.com.vn"]),
    normalized(lead_id="mst:0100233485", phones=[(OTHER_MOBILE, "mobile")], province_code="79"),
]


def _segmenter(database_url: str, service: Service | None = None) -> InProcess:
    segmenter = InProcess(service or load("segmenter"), database_url=database_url)
    granted(segmenter, MOBILE, LANDLINE, EMAIL)
    changed(segmenter, OTHER_MOBILE, "dnc_listed")
    return segmenter


def _seen(emitted) -> list[tuple]:
    """What the marketing tool, the telephony platform and the post offices receive, in order."""
    return [(kind, getattr(event, "lead_id", None) or event.subject_id, getattr(event, "to", None),
             getattr(event, "not_before", None), getattr(event, "reason", None)) for kind, event in emitted.events]


def _stored(segmenter: InProcess) -> dict[str, list[tuple]]:
    with segmenter.session() as session:
        return {
            "leads": sorted(session.execute(select(OutreachLead.lead_id, OutreachLead.province_code)).all()),
            "contacts": sorted(session.execute(select(Contact.lead_id, Contact.value, Contact.kind, Contact.phone_type,
                                                      Contact.position, Contact.dead)).all()),
            "states": sorted(session.execute(select(LeadStateRow.lead_id, LeadStateRow.stage,
                                                    LeadStateRow.owner)).all()),
            "requests": sorted(session.execute(select(OutreachRequest.lead_id, OutreachRequest.channel,
                                                      OutreachRequest.contact, OutreachRequest.send_at)).all()),
            "blocked": sorted(session.execute(select(BlockedRequest.lead_id, BlockedRequest.channel,
                                                     BlockedRequest.reason)).all()),
            "call_tasks": sorted(session.execute(select(CallTask.lead_id, CallTask.number, CallTask.status)).all()),
        }


def test_leads_of_one_batch_sharing_a_phone_or_an_email_get_what_separate_batches_give_them(database_url, tmp_path,
                                                                                            caplog):
    together = _segmenter(database_url)
    apart = _segmenter(f"sqlite:///{tmp_path / 'apart.db'}")
    with caplog.at_level(logging.INFO, logger="careflow.runner"):
        in_one = together.send(*(together.event("lead-normalized", **lead) for lead in LEADS))
    assert not [r for r in caplog.records if "event by event" in r.message]  # the batch path, not the fallback
    one_by_one = [apart.handle("lead-normalized", **lead) for lead in LEADS]
    assert _seen(in_one) == [seen for emitted in one_by_one for seen in _seen(emitted)]
    stored = _stored(together)
    assert stored == _stored(apart)
    day = dt.timedelta(hours=24)
    # The caps hold across the batch: three e-mails a day to the shared address all go today; one call
    # a day to the shared mobile, so its second and third lead wait a day more each; the landline is free.
    emails = [(lead, send_at - together.now) for lead, channel, contact, send_at in stored["requests"]
              if contact == EMAIL]
    assert emails == [("mst:0100233481", dt.timedelta(0)), ("mst:0100233482", dt.timedelta(0)),
                      ("mst:0100233484", dt.timedelta(0))]
    calls = sorted((send_at - together.now, contact) for _, channel, contact, send_at in stored["requests"]
                   if channel == "call")
    assert calls == [(dt.timedelta(0), LANDLINE), (dt.timedelta(0), MOBILE), (day, MOBILE), (2 * day, MOBILE)]
    assert ("mst:0100233485", "BDT-79") in [(lead, owner) for lead, _, owner in stored["states"]]
    assert {reason for lead, _, reason in stored["blocked"] if lead == "mst:0100233485"} == {"dnc_listed"}
    assert [e.reason for e in in_one.of("lead-escalated")] == ["unreachable"]


def test_a_lead_twice_in_one_batch_is_planned_once_and_keeps_the_new_number_of_the_second(database_url, caplog):
    segmenter = _segmenter(database_url)
    first = segmenter.event("lead-normalized", **normalized(phones=[(MOBILE, "mobile")]))
    again = segmenter.event("lead-normalized", **normalized(phones=[(MOBILE, "mobile"), (LANDLINE, "landline")]))
    with caplog.at_level(logging.INFO, logger="careflow.runner"):
        emitted = segmenter.send(first, again)
    assert not [r for r in caplog.records if "event by event" in r.message]
    assert emitted.types() == ["sms-requested", "call-requested"]
    stored = _stored(segmenter)
    assert [value for _, value, *_ in stored["contacts"]] == [LANDLINE, MOBILE]
    assert stored["call_tasks"] == [("mst:0100233488", MOBILE, "requested")]


def test_a_batch_redelivered_after_the_store_committed_republishes_its_outputs_and_writes_nothing(database_url):
    segmenter = _segmenter(database_url)
    events = [segmenter.event("lead-normalized", **lead) for lead in LEADS]
    first = segmenter.send(*events)
    stored = _stored(segmenter)
    again = segmenter.send(*events)
    assert again.outputs == first.outputs
    assert _stored(segmenter) == stored


def test_a_bad_event_in_a_batch_is_dead_lettered_alone_and_the_rest_is_written_as_the_rules_give(database_url, caplog):
    segmenter = _segmenter(database_url, failing_for("mst:0100233482"))
    with caplog.at_level(logging.INFO, logger="careflow.runner"):
        emitted = segmenter.send(*(segmenter.event("lead-normalized", **lead) for lead in LEADS))
    assert [r for r in caplog.records if "event by event" in r.message]
    assert len(emitted.dead_letters) == 1
    stored = _stored(segmenter)
    assert "mst:0100233482" not in {lead for rows in stored.values() for lead, *_ in rows}
    # Without the failed lead, the fourth lead's e-mail is the second of the day to the shared address.
    assert [(lead, send_at) for lead, channel, contact, send_at in stored["requests"] if contact == EMAIL] == [
        ("mst:0100233481", segmenter.now), ("mst:0100233484", segmenter.now)]
    with segmenter.session() as session:
        handled = session.scalars(select(ProcessedEvent.event_id)).all()
    assert len(handled) == 4 + 4  # the consents, the four leads that stand
