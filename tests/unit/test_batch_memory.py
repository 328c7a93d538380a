"""A batch's objects and the garbage collector, as a service runs after its start-up."""

from __future__ import annotations

import gc

from services.normalizer.handler import SERVICE as NORMALIZER
from shared.contract import contract, encode
from shared.runner.loop import freeze_loaded
from tests.handlers import InProcess, Record

BATCH = 500


def test_a_full_batch_of_leads_sets_off_no_collection_of_the_objects_it_keeps():
    normalizer = InProcess(NORMALIZER)
    spec = contract("lead-imported")
    records = []
    for n in range(BATCH):
        event = normalizer.event("lead-imported", lead_id=f"mst:{n:010d}", source="list.csv", row_number=n + 1,
                                 tax_code=f"{n:010d}", company_name=f"Công ty TNHH Số {n}",
                                 address="12 Lê Lợi, Quận 1, TP. Hồ Chí Minh", phones=f"0903 {n:06d}; (028) 3823 4567",
                                 emails=f"ketoan{n}@congty{n % 7}.vn")
        records.append(Record(spec.topic, encode(spec.event_type, event), event.lead_id.encode(), n))
    normalizer.batch.handle(records)  # caches warmed, as after a service's first batches
    thresholds, collections = gc.get_threshold(), []

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            collections.append(info["generation"])

    try:
        freeze_loaded(BATCH)
        gc.callbacks.append(count)
        outputs = normalizer.batch.handle(records)
    finally:
        gc.callbacks.remove(count)
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    assert len(outputs) == BATCH
    assert collections == []  # at Python's default threshold (700), a batch of 500 leads set off several
