"""The benchmark's no-op service: one follow-on event per event, no store — the runtime's own cost."""

from shared.service import Context, Service, StoreAccess


def relay(event, ctx: Context) -> None:
    ctx.emit("lead-escalated", lead_id=event.lead_id, owner="TCT", reason="not_found", detail=None)


SERVICE = Service(name="bench-noop", emits=("lead-escalated",), handlers={"lead-imported": relay}, store=StoreAccess.NONE)
