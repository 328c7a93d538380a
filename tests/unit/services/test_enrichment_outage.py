"""An enrichment registry outage, in-process (normalizer and segmenter): the circuit opens, the leads
go on marked pending — neither dead-lettered nor escalated as unknown — and the segmenter's
deadline looks them up again once the registry is back."""

from __future__ import annotations

import httpx

from services import load
from services.segmenter.handler import ENRICHMENT_RETRY_AFTER
from shared.config import Policies, Settings
from shared import enrichment
from shared.enrichment import CircuitBreaker, EnterpriseRecord
from shared.store.models import Lead
from tests.handlers import InProcess

MOBILE = "+84912345678"


class FlakyRegistry:
    """Knows every enterprise (a mobile for each); fails while `down`, counting the calls."""

    name = "http:registry.test"

    def __init__(self):
        self.down, self.calls = True, 0

    def lookup(self, tax_code: str) -> EnterpriseRecord | None:
        self.calls += 1
        if self.down:
            raise httpx.ConnectError("connection refused")
        return EnterpriseRecord(tax_code, "Công ty Minh An", True, "12 Tràng Tiền, Hà Nội", "0912 345 678", None,
                                self.name)


def test_a_registry_outage_leaves_leads_pending_and_the_later_look_up_enriches_them():
    registry = FlakyRegistry()
    breaker = CircuitBreaker(registry, threshold=2, cool_down=60, clock=lambda: normalizer.now.timestamp())
    normalizer = InProcess(load("normalizer"), policies=Policies(Settings(), enrichment=[breaker]))
    segmenter = InProcess(load("segmenter"))
    segmenter.handle("consent-changed", contact=MOBILE, contact_kind="phone", channel="all", status="granted",
                     source="test", evidence="hợp đồng", changed_at=segmenter.now)
    tax_codes = ["0100233488", "0100109106", "0101243150"]

    # Down: three leads with no contact of their own, in one batch.
    emitted = normalizer.send(*(normalizer.event("lead-imported", lead_id=f"mst:{t}", source="bhxh.csv",
                                                 row_number=i, tax_code=t, address="Hoàn Kiếm, Hà Nội")
                                for i, t in enumerate(tax_codes)))
    assert emitted.types() == ["lead-normalized"] * 3  # none dead-lettered, none escalated "not_found"
    assert [(lead.enrichment_pending, lead.outreach_list) for lead in emitted.of("lead-normalized")] == [
        (True, "insufficient")] * 3
    assert registry.calls == 2  # the circuit opened after two failures: the third lead did not wait on it
    held = segmenter.send(*emitted.of("lead-normalized"))
    assert held.types() == []  # held for the look-up, not escalated as unreachable

    # Back: the segmenter's deadline sends each lead through the normalizer again.
    registry.down = False
    segmenter.advance(ENRICHMENT_RETRY_AFTER)
    normalizer.advance(ENRICHMENT_RETRY_AFTER)
    again = segmenter.fire_deadlines()
    assert sorted(e.lead_id for e in again.of("lead-imported")) == sorted(f"mst:{t}" for t in tax_codes)
    assert segmenter.fire_deadlines().types() == []  # each fires once
    enriched = normalizer.send(*again.of("lead-imported")).of("lead-normalized")
    assert [(lead.enrichment_pending, lead.enrichment_source, lead.province_code, [p.e164 for p in lead.phones])
            for lead in enriched] == [(False, registry.name, "01", [MOBILE])] * 3
    planned = segmenter.send(*enriched)
    assert planned.types().count("call-requested") >= 1 and "lead-escalated" not in planned.types()


def test_a_lead_still_pending_at_its_look_up_is_looked_up_again_later():
    registry = FlakyRegistry()
    normalizer = InProcess(load("normalizer"), policies=Policies(
        Settings(), enrichment=[CircuitBreaker(registry, threshold=1, cool_down=60)]))
    segmenter = InProcess(load("segmenter"))
    lead = normalizer.handle("lead-imported", lead_id="mst:0100233488", source="bhxh.csv", row_number=1,
                             tax_code="0100233488").of("lead-normalized")
    segmenter.send(*lead)
    segmenter.advance(ENRICHMENT_RETRY_AFTER)
    again = normalizer.send(*segmenter.fire_deadlines().of("lead-imported")).of("lead-normalized")
    assert [(lead.enrichment_pending, lead.outreach_list) for lead in again] == [(True, "insufficient")]
    segmenter.send(*again)
    segmenter.advance(ENRICHMENT_RETRY_AFTER)
    assert segmenter.fire_deadlines().types() == ["lead-imported"]


def test_a_look_up_again_keeps_the_leads_source_in_the_ledger():
    ledger = InProcess(load("lead-ledger"))
    ledger.handle("lead-imported", lead_id="mst:0100233488", source="bhxh.csv", row_number=2)
    ledger.handle("lead-imported", lead_id="mst:0100233488", source=enrichment.RETRY, row_number=0)
    with ledger.session() as session:
        assert session.get(Lead, "mst:0100233488").source == "bhxh.csv"
