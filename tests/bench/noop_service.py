"""The benchmark's no-op service: one follow-on event per event, no store — the runtime's own cost."""

from shared.service import Context, Service, StoreAccess


def lead_fields(i: int) -> dict:
    """The fields of the bench's `i`-th `lead-imported` event, the no-op's input."""
    return {"lead_id": f"mst:{i:010d}", "source": "bench", "row_number": i + 1, "tax_code": None,
            "company_name": f"Công ty TNHH {i}", "address": "Số 1, Hà Nội", "phones": "0912345678", "emails": None,
            "bhxh_unit_code": None}


def relay(event, ctx: Context) -> None:
    ctx.emit("lead-escalated", lead_id=event.lead_id, owner="TCT", reason="not_found", detail=None)


SERVICE = Service(name="bench-noop", emits=("lead-escalated",), handlers={"lead-imported": relay}, store=StoreAccess.NONE)
