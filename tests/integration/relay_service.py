"""A service for testing the runtime alone: it escalates every imported lead, records the
escalation in the store, and misbehaves on demand (by company name)."""

from __future__ import annotations

import os
import time

from shared.runtime import Context, Rejected, Service
from shared.store.models import Escalation

_SLOWDOWN = float(os.environ.get("RELAY_SECONDS_PER_EVENT", "0"))


def relay(event, ctx: Context) -> None:
    if event.company_name == "REJECT":
        raise Rejected(f"lead {event.lead_id} rejected on purpose")
    if event.company_name == "ALWAYS-FAILS":
        raise RuntimeError("a dependency is down")
    if _SLOWDOWN:
        time.sleep(_SLOWDOWN)
    ctx.session.add(Escalation(lead_id=event.lead_id, owner="TCT", reason="not_found", escalated_at=ctx.now()))
    ctx.emit("lead-escalated", lead_id=event.lead_id, owner="TCT", reason="not_found", detail=event.company_name)


SERVICE = Service(name="relay", handlers={"lead-imported": relay})
