"""Inbound hotline calls in-process: matched to their lead by number or tax code, or kept for operators."""

from __future__ import annotations

from sqlalchemy import select

from services import load
from shared.store.models import UnmatchedCall
from tests.handlers import InProcess
from tests.unit.services.test_segmenter import normalized


def _stores(tmp_path):
    segmenter = InProcess(load("segmenter"))
    calls = InProcess(load("calls"), store=segmenter)
    # Two enterprises whose accountant shares one landline; one with its own (old-style) mobile.
    segmenter.handle("lead-normalized", **normalized(phones=[("+84362345678", "mobile"), ("+842838251234", "landline")]))
    segmenter.handle("lead-normalized", **normalized(lead_id="mst:0314409058", phones=[("+842838251234", "landline")])
                     | {"tax_code": "0314409058"})
    return calls


def _hotline(calls: InProcess, number: str, call_id: str, subject_id: str = "", tax_code: str | None = None):
    return calls.handle("call-ended", call_id=call_id, subject_type="lead", subject_id=subject_id, number=number,
                        direction="inbound_hotline", disposition="agent_resolved", tax_code=tax_code)


def test_a_caller_is_matched_by_any_writing_of_a_leads_number(tmp_path):
    calls = _stores(tmp_path)
    [supported] = _hotline(calls, "0166.234.5678", "h-1").of("customer-supported")  # the number before 2018
    assert (supported.lead_id, supported.via) == ("mst:0100233488", "hotline")


def test_a_tax_code_the_agent_typed_with_its_label_decides_a_shared_number(tmp_path):
    calls = _stores(tmp_path)
    [supported] = _hotline(calls, "(028) 3825 1234", "h-2", tax_code="MST: 0314.409.058").of("customer-supported")
    assert supported.lead_id == "mst:0314409058"


def test_careflows_lead_id_is_still_accepted(tmp_path):
    calls = _stores(tmp_path)
    assert [e.lead_id for e in _hotline(calls, "+84999", "h-3", "mst:0100233488").of("customer-supported")] == [
        "mst:0100233488"]


def test_unmatched_and_ambiguous_calls_are_kept_for_operators_not_dead_lettered(tmp_path):
    calls = _stores(tmp_path)
    shared_line, stranger = _hotline(calls, "02838251234", "h-4"), _hotline(calls, "0987 654 321", "h-5")
    assert shared_line.outputs == stranger.outputs == []
    with calls.session() as session:
        kept = {c.call_id: (c.reason, c.number, c.candidates) for c in session.scalars(select(UnmatchedCall))}
    assert kept == {"h-4": ("ambiguous", "+842838251234", ["mst:0100233488", "mst:0314409058"]),
                    "h-5": ("unmatched", "+84987654321", [])}
