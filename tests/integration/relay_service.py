"""Services for testing the runtime alone. RELAY escalates every imported lead, records the
escalation in the store (its batch's escalations prefetched), and misbehaves on demand (by company
name). READER only reads the store (StoreAccess.READ) and, asked to, tries to write to it."""

from __future__ import annotations

import os
import time

from shared.service import Context, Rejected, Service, StoreAccess
from shared.store.models import Escalation

_SLOWDOWN = float(os.environ.get("RELAY_SECONDS_PER_EVENT", "0"))


def relay(event, ctx: Context) -> None:
    if event.company_name == "REJECT":
        raise Rejected(f"lead {event.lead_id} rejected on purpose")
    if event.company_name == "ALWAYS-FAILS":
        raise RuntimeError("a dependency is down")
    if _SLOWDOWN:
        time.sleep(_SLOWDOWN)
    if ctx.session.get(Escalation, event.lead_id) is None:
        ctx.session.add(Escalation(lead_id=event.lead_id, owner="TCT", reason="not_found", escalated_at=ctx.now()))
    ctx.emit("lead-escalated", lead_id=event.lead_id, owner="TCT", reason="not_found", detail=event.company_name)


def prefetch_escalations(events, session) -> None:
    session.prefetch(Escalation, [event.lead_id for event in events])


SERVICE = Service(name="relay", emits=("lead-escalated",), handlers={"lead-imported": relay}, prefetch=prefetch_escalations)


def relay_reading(event, ctx: Context) -> None:
    if _SLOWDOWN:
        time.sleep(_SLOWDOWN)
    already = ctx.session.get(Escalation, event.lead_id)
    if event.company_name == "WRITES":
        ctx.session.add(Escalation(lead_id=event.lead_id, owner="TCT", reason="not_found", escalated_at=ctx.now()))
    ctx.emit("lead-escalated", lead_id=event.lead_id, owner=already.owner if already else "TCT", reason="not_found",
             detail=event.company_name)


READER = Service(name="relay-reader", emits=("lead-escalated",), handlers={"lead-imported": relay_reading}, store=StoreAccess.READ)
