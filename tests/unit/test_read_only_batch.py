"""A read-only service's batch (StoreAccess.READ): its store is checked for changes once a batch,
and a batch that changed it is handled again event by event, so that the event whose handler
changed it is dead-lettered with its reason, the others' outputs stand and nothing is written."""

from __future__ import annotations

from sqlalchemy import func, select

from shared.service import Service, StoreAccess
from shared.store.models import Escalation
from tests.handlers import MORNING, InProcess

calls: list[str] = []


def reads(event, ctx) -> None:
    calls.append(event.lead_id)
    if event.company_name == "WRITES":
        ctx.session.add(Escalation(lead_id=event.lead_id, owner="TCT", reason="not_found", escalated_at=MORNING))
    if event.company_name == "QUERIES":  # with autoflush, the query would write what an earlier event added
        ctx.session.scalar(select(func.count()).select_from(Escalation))
    if event.company_name == "WRITES-THEN-FAILS":
        ctx.session.add(Escalation(lead_id=event.lead_id, owner="TCT", reason="not_found", escalated_at=MORNING))
        raise RuntimeError("a dependency is down")
    if event.company_name == "FAILS":  # its rollback undoes what an earlier event changed
        raise RuntimeError("a dependency is down")
    ctx.emit("lead-escalated", lead_id=event.lead_id, owner="TCT", reason="not_found", detail=event.company_name)


def reader() -> InProcess:
    return InProcess(Service(name="normalizer", handlers={"lead-imported": reads}, emits=("lead-escalated",),
                             store=StoreAccess.READ))


def imported(service: InProcess, n: int, company_name: str):
    return service.event("lead-imported", lead_id=f"mst:{n:010d}", source="t.csv", row_number=n,
                         company_name=company_name)


def escalations(service: InProcess) -> int:
    with service.session() as session:
        return session.scalar(select(func.count()).select_from(Escalation))


def test_a_batch_that_changes_nothing_is_handled_once():
    service = reader()
    calls.clear()
    emitted = service.send(*(imported(service, n, "QUERIES" if n % 2 else "Công ty") for n in range(6)))
    assert len(emitted.of("lead-escalated")) == 6 and not emitted.dead_letters
    assert calls == [f"mst:{n:010d}" for n in range(6)]


def test_the_event_that_changed_the_store_is_dead_lettered_even_when_a_later_query_would_flush_it():
    service = reader()
    calls.clear()
    names = ["Công ty", "WRITES", "QUERIES", "Công ty"]
    emitted = service.send(*(imported(service, n, name) for n, name in enumerate(names)))
    (dead,) = emitted.dead_letters
    assert b"reads the store only" in dict(dead.headers)["error"]
    assert dict(dead.headers)["error_type"] == b"ReadOnlyStore"
    assert [e.detail for e in emitted.of("lead-escalated")] == ["Công ty", "QUERIES", "Công ty"]
    assert [e.lead_id for e in emitted.of("lead-escalated")] == [f"mst:{n:010d}" for n in (0, 2, 3)]
    assert escalations(service) == 0
    assert len(calls) == 8, "handled once, then again event by event"


def test_a_change_a_later_failure_rolled_back_still_sends_the_batch_event_by_event():
    service = reader()
    names = ["Công ty", "WRITES", "FAILS", "Công ty"]
    emitted = service.send(*(imported(service, n, name) for n, name in enumerate(names)))
    errors = sorted(dict(dead.headers)["error_type"] for dead in emitted.dead_letters)
    assert errors == [b"ReadOnlyStore", b"RuntimeError"]
    assert [e.lead_id for e in emitted.of("lead-escalated")] == [f"mst:{n:010d}" for n in (0, 3)]
    assert escalations(service) == 0


def test_outputs_and_dead_letters_are_those_of_a_check_after_every_event():
    """Whatever the mix, the batch's result is that of the event-by-event pass alone."""
    import random

    rng = random.Random(3)
    kinds = ["Công ty", "WRITES", "QUERIES", "WRITES-THEN-FAILS", "FAILS"]
    for _ in range(30):
        service = reader()
        events = [imported(service, n, rng.choice(kinds)) for n in range(rng.randrange(1, 9))]
        records = service.batch.handle([_record(e, n) for n, e in enumerate(events)])
        decoded = [(r, service.batch._decode(r)) for r in (_record(e, n) for n, e in enumerate(events))]
        alone = [o for _, outputs in service.batch._handle_batch(decoded, {}, check_each=True) for o in outputs]
        assert [(o.topic, o.key, o.value, dict(o.headers).get("error_type")) for o in records] == \
               [(o.topic, o.key, o.value, dict(o.headers).get("error_type")) for o in alone]
        assert escalations(service) == 0


def _record(event, offset: int):
    from shared.contract import contract, encode
    from tests.handlers import Record

    spec = contract("lead-imported")
    return Record(spec.topic, encode("lead-imported", event), spec.key_of(event).encode(), offset)

