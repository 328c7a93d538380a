"""After-sales care cases (SPEC A8): routing, SLA clocks, escalation, resolution, reopening.

Pure domain logic: no Kafka, no database, no I/O. Every time is passed in as a timezone-aware
``datetime``; state is an immutable :class:`CareCase` and every operation returns a new one.

* Routing: each kind has an owner queue. Pickup urging goes to the post office (BĐT) of the
  customer's province, ``BDT-<2-digit province code>``, or to the head office ``TCT`` when the
  province is unknown; consultations go to the hotline team; complaints to the complaints team,
  which has the shortest SLA.
* SLA: ``sla_due_at`` is the one live deadline. A deadline fires once: :func:`breach` escalates
  only when the case is open (not paused, not resolved) and ``now >= sla_due_at`` (a breach exactly
  at the deadline counts). Escalating moves the case one step up the ladder and grants a fresh SLA
  period, so a second breach escalates again. A stale deadline (the case was paused, resolved,
  already escalated, or its deadline moved later) does nothing.
* ``waiting_on_customer`` pauses the clock (the remaining time is kept); ``resumed`` restarts it:
  ``sla_due_at = now + remaining``.
* A resolved case reopens on a new request about the same matter (same customer and kind) within
  the reopen window instead of opening a duplicate.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from shared.domain.provinces import PROVINCE_CODES, TCT, post_office_code

HEAD_OFFICE = TCT
PROVINCE_POST_OFFICE = "BDT"
"""Queue token meaning "the BĐT of the customer's province" (``BDT-xx``, or ``TCT`` if unknown)."""
BDT_PATTERN = "BDT-*"
"""Ladder key matching any provincial post office."""


_BDT_RE = re.compile(r"^BDT-\d{2}$")


class CareKind(StrEnum):
    CONSULT_SERVICE = "consult_service"
    CONSULT_SOFTWARE = "consult_software"
    PICKUP_URGING = "pickup_urging"
    COMPLAINT = "complaint"


class CaseStatus(StrEnum):
    OPEN = "open"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    RESOLVED = "resolved"


def _hours(h: float) -> dt.timedelta:
    return dt.timedelta(hours=h)


DEFAULT_QUEUES: Mapping[CareKind, str] = {
    CareKind.CONSULT_SERVICE: "HOTLINE",
    CareKind.CONSULT_SOFTWARE: "HOTLINE",
    CareKind.PICKUP_URGING: PROVINCE_POST_OFFICE,
    CareKind.COMPLAINT: "COMPLAINTS",
}
DEFAULT_SLAS: Mapping[CareKind, dt.timedelta] = {
    CareKind.CONSULT_SERVICE: _hours(24),
    CareKind.CONSULT_SOFTWARE: _hours(24),
    CareKind.PICKUP_URGING: _hours(48),
    CareKind.COMPLAINT: _hours(8),
}
DEFAULT_LADDER: Mapping[str, str] = {
    BDT_PATTERN: HEAD_OFFICE,
    "HOTLINE": "HOTLINE-LEAD",
    "HOTLINE-LEAD": HEAD_OFFICE,
    "COMPLAINTS": "COMPLAINTS-LEAD",
    "COMPLAINTS-LEAD": HEAD_OFFICE,
    HEAD_OFFICE: "TCT-BOARD",
}


def _aware(when: dt.datetime, name: str = "now") -> dt.datetime:
    if not isinstance(when, dt.datetime) or when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {when!r}")
    return when


@dataclass(frozen=True)
class CarePolicy:
    """Owner queue and SLA per kind, escalation ladder and reopen window.

    ``queues[kind] == "BDT"`` routes to the province's post office. ``escalation_ladder`` maps an
    owner to the next owner; the key ``"BDT-*"`` matches any ``BDT-xx``. An owner with no next step
    is the top of the ladder: a breach there still counts (level + 1, fresh SLA) but the owner stays.
    ``escalated_sla`` is the SLA granted by each escalation (``None``: the kind's own SLA).
    """

    queues: Mapping[CareKind, str] = field(default_factory=lambda: dict(DEFAULT_QUEUES))
    slas: Mapping[CareKind, dt.timedelta] = field(default_factory=lambda: dict(DEFAULT_SLAS))
    escalation_ladder: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_LADDER))
    escalated_sla: dt.timedelta | None = None
    reopen_window: dt.timedelta = dt.timedelta(days=7)

    def __post_init__(self) -> None:
        queues = {CareKind(k): str(v) for k, v in self.queues.items()}
        slas = {CareKind(k): v for k, v in self.slas.items()}
        missing = sorted(k.value for k in CareKind if k not in queues or k not in slas)
        if missing:
            raise ValueError(f"care policy has no queue or SLA for kind(s): {', '.join(missing)}")
        for kind, sla in slas.items():
            if not isinstance(sla, dt.timedelta) or sla <= dt.timedelta(0):
                raise ValueError(f"care policy SLA for {kind.value} must be a positive duration")
        if self.escalated_sla is not None and self.escalated_sla <= dt.timedelta(0):
            raise ValueError("care policy escalated_sla must be a positive duration")
        if self.reopen_window < dt.timedelta(0):
            raise ValueError("care policy reopen_window must not be negative")
        object.__setattr__(self, "queues", MappingProxyType(queues))
        object.__setattr__(self, "slas", MappingProxyType(slas))
        object.__setattr__(self, "escalation_ladder", MappingProxyType(dict(self.escalation_ladder)))

    def sla(self, kind: CareKind | str) -> dt.timedelta:
        return self.slas[CareKind(kind)]

    def sla_after_escalation(self, kind: CareKind | str) -> dt.timedelta:
        return self.escalated_sla if self.escalated_sla is not None else self.sla(kind)

    def next_owner(self, owner: str) -> str | None:
        """The owner one step up the ladder, or ``None`` at the top."""
        if owner in self.escalation_ladder:
            return self.escalation_ladder[owner]
        if _BDT_RE.match(owner) and BDT_PATTERN in self.escalation_ladder:
            return self.escalation_ladder[BDT_PATTERN]
        return None

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> CarePolicy:
        """Build a policy from JSON-like config; missing parts keep the defaults.

        Shape::

            {"kinds": {"complaint": {"queue": "COMPLAINTS", "sla_hours": 8}, ...},
             "escalation_ladder": {"BDT-*": "TCT", "HOTLINE": "HOTLINE-LEAD", ...},
             "escalated_sla_hours": 12,
             "reopen_window_hours": 168}

        ``escalation_ladder`` replaces the default ladder as a whole. Unknown keys or kinds raise a
        ValueError naming them.
        """
        if not isinstance(config, Mapping):
            raise ValueError("care policy config must be a mapping")
        allowed = {"kinds", "escalation_ladder", "escalated_sla_hours", "reopen_window_hours"}
        unknown = sorted(set(config) - allowed)
        if unknown:
            raise ValueError(f"unknown care policy key(s): {', '.join(map(str, unknown))}")
        queues = dict(DEFAULT_QUEUES)
        slas = dict(DEFAULT_SLAS)
        kinds = config.get("kinds", {})
        if not isinstance(kinds, Mapping):
            raise ValueError("care policy 'kinds' must be a mapping")
        known_kinds = {k.value for k in CareKind}
        bad_kinds = sorted(set(kinds) - known_kinds)
        if bad_kinds:
            raise ValueError(f"unknown care kind(s) in policy: {', '.join(map(str, bad_kinds))}")
        for name, entry in kinds.items():
            kind = CareKind(name)
            if not isinstance(entry, Mapping):
                raise ValueError(f"care policy kind {name} must be a mapping")
            bad = sorted(set(entry) - {"queue", "sla_hours"})
            if bad:
                raise ValueError(f"unknown care policy key(s) for kind {name}: {', '.join(map(str, bad))}")
            if "queue" in entry:
                if not isinstance(entry["queue"], str) or not entry["queue"]:
                    raise ValueError(f"care policy queue for kind {name} must be a non-empty string")
                queues[kind] = entry["queue"]
            if "sla_hours" in entry:
                slas[kind] = _hours(_number(entry["sla_hours"], f"kinds.{name}.sla_hours"))
        ladder: Mapping[str, str] = DEFAULT_LADDER
        if "escalation_ladder" in config:
            ladder = config["escalation_ladder"]
            if not isinstance(ladder, Mapping) or not all(
                    isinstance(k, str) and isinstance(v, str) and v for k, v in ladder.items()):
                raise ValueError("care policy 'escalation_ladder' must map owner names to owner names")
        escalated = config.get("escalated_sla_hours")
        window = config.get("reopen_window_hours")
        return cls(
            queues=queues,
            slas=slas,
            escalation_ladder=dict(ladder),
            escalated_sla=None if escalated is None else _hours(_number(escalated, "escalated_sla_hours")),
            reopen_window=(dt.timedelta(days=7) if window is None
                           else _hours(_number(window, "reopen_window_hours"))),
        )


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"care policy {key} must be a number of hours, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class CareCase:
    case_id: str
    customer_id: str
    kind: CareKind
    owner: str
    province_code: str | None
    opened_at: dt.datetime
    sla_due_at: dt.datetime | None
    """The live SLA deadline; ``None`` while paused or once resolved."""
    level: int = 0
    paused_at: dt.datetime | None = None
    remaining: dt.timedelta | None = None
    """SLA time left when the clock was paused (only while waiting on the customer)."""
    status: CaseStatus = CaseStatus.OPEN
    resolved_at: dt.datetime | None = None
    reopen_count: int = 0
    assignee: str | None = None
    outcome: str | None = None
    resolution: str | None = None


@dataclass(frozen=True)
class Escalation:
    level: int
    from_owner: str
    to_owner: str
    breached_at: dt.datetime
    """The deadline that was breached."""
    sla_due_at: dt.datetime
    """The fresh deadline granted by this escalation."""


def normalize_province(province_code: str | int | None) -> str | None:
    """The 2-digit code of a known province, or ``None``."""
    if province_code is None or isinstance(province_code, bool):
        return None
    code = str(province_code).strip()
    if not code.isdigit() or len(code) > 2:
        return None
    code = code.zfill(2)
    return code if code in PROVINCE_CODES else None


def province_post_office(province_code: str | int | None) -> str:
    """``BDT-<code>`` for a known province, ``TCT`` otherwise."""
    return post_office_code(normalize_province(province_code))


def route(kind: CareKind | str, province_code: str | int | None, policy: CarePolicy) -> str:
    """The owner queue of a new case."""
    queue = policy.queues[CareKind(kind)]
    return province_post_office(province_code) if queue == PROVINCE_POST_OFFICE else queue


def open_case(case_id: str, customer_id: str, kind: CareKind | str, province_code: str | int | None,
              now: dt.datetime, policy: CarePolicy) -> CareCase:
    _aware(now)
    kind = CareKind(kind)
    return CareCase(
        case_id=case_id,
        customer_id=customer_id,
        kind=kind,
        owner=route(kind, province_code, policy),
        province_code=normalize_province(province_code),
        opened_at=now,
        sla_due_at=now + policy.sla(kind),
    )


def should_reopen(case: CareCase, kind: CareKind | str, now: dt.datetime, policy: CarePolicy) -> bool:
    """True when a new request of ``kind`` (same customer, looked up by the caller) reopens ``case``
    rather than opening a new one: the case is resolved, of the same kind, and resolved no longer
    than the reopen window ago (the window's end inclusive)."""
    _aware(now)
    if case.status != CaseStatus.RESOLVED or case.resolved_at is None:
        return False
    if case.kind != CareKind(kind):
        return False
    return dt.timedelta(0) <= now - case.resolved_at <= policy.reopen_window


def reopen(case: CareCase, now: dt.datetime, policy: CarePolicy) -> CareCase:
    """Reopen a resolved case: back to the routed owner at level 0 with a fresh SLA, no assignee."""
    _aware(now)
    if case.status != CaseStatus.RESOLVED:
        raise ValueError(f"case {case.case_id} is {case.status.value}, only a resolved case reopens")
    return replace(
        case,
        owner=route(case.kind, case.province_code, policy),
        level=0,
        sla_due_at=now + policy.sla(case.kind),
        paused_at=None,
        remaining=None,
        status=CaseStatus.OPEN,
        resolved_at=None,
        reopen_count=case.reopen_count + 1,
        assignee=None,
        outcome=None,
        resolution=None,
    )


def pause(case: CareCase, now: dt.datetime) -> CareCase:
    """Waiting on the customer: stop the SLA clock, keeping the time left (never below zero).

    No-op (the same object is returned) unless the case is open and running."""
    _aware(now)
    if case.status != CaseStatus.OPEN or case.sla_due_at is None:
        return case
    remaining = max(case.sla_due_at - now, dt.timedelta(0))
    return replace(case, status=CaseStatus.WAITING_ON_CUSTOMER, paused_at=now, remaining=remaining,
                   sla_due_at=None)


def resume(case: CareCase, now: dt.datetime) -> CareCase:
    """The customer answered: restart the SLA clock, ``sla_due_at = now + remaining``.

    No-op (the same object is returned) unless the case is waiting on the customer."""
    _aware(now)
    if case.status != CaseStatus.WAITING_ON_CUSTOMER:
        return case
    remaining = case.remaining if case.remaining is not None else dt.timedelta(0)
    return replace(case, status=CaseStatus.OPEN, sla_due_at=now + remaining, paused_at=None,
                   remaining=None)


def breach(case: CareCase, now: dt.datetime, policy: CarePolicy,
           deadline: dt.datetime | None = None) -> tuple[CareCase, Escalation] | None:
    """An SLA deadline fired at ``now``.

    Escalates when the case is open (not paused, not resolved) and ``now >= sla_due_at``: level + 1,
    owner one step up the ladder (kept at the top), fresh deadline ``now + escalated SLA``.
    Otherwise — paused, resolved, deadline not yet reached (moved later by a resume or an earlier
    escalation), or ``deadline`` given and no longer the live one — it is a stale firing: ``None``.
    """
    _aware(now)
    if case.status != CaseStatus.OPEN or case.sla_due_at is None:
        return None
    if deadline is not None and _aware(deadline, "deadline") != case.sla_due_at:
        return None
    if now < case.sla_due_at:
        return None
    to_owner = policy.next_owner(case.owner) or case.owner
    due = now + policy.sla_after_escalation(case.kind)
    escalation = Escalation(level=case.level + 1, from_owner=case.owner, to_owner=to_owner,
                            breached_at=case.sla_due_at, sla_due_at=due)
    return replace(case, level=case.level + 1, owner=to_owner, sla_due_at=due), escalation


def escalate(case: CareCase, now: dt.datetime, policy: CarePolicy) -> tuple[CareCase, Escalation] | None:
    """An agent escalates an open case before its SLA runs out: as if it were breached now."""
    if case.status != CaseStatus.OPEN:
        return None
    return breach(replace(case, sla_due_at=_aware(now)), now, policy)


def resolve(case: CareCase, now: dt.datetime, outcome: str | None = None,
            resolution: str | None = None) -> CareCase:
    """Resolve the case (from open or waiting); the SLA clock stops. Resolving twice is a no-op."""
    _aware(now)
    if case.status == CaseStatus.RESOLVED:
        return case
    return replace(case, status=CaseStatus.RESOLVED, resolved_at=now, sla_due_at=None, paused_at=None,
                   remaining=None, outcome=outcome, resolution=resolution)


def assign(case: CareCase, agent_id: str) -> CareCase:
    if case.status == CaseStatus.RESOLVED:
        raise ValueError(f"case {case.case_id} is resolved; it cannot be assigned")
    return replace(case, assignee=agent_id)


# --- event payloads (without the envelope) -------------------------------------------------------

def opened_payload(case: CareCase, request_id: str) -> dict[str, Any]:
    """Fields of ``care-case-opened`` (``reopened`` when the case has been reopened)."""
    return {"case_id": case.case_id, "customer_id": case.customer_id, "kind": case.kind.value,
            "owner": case.owner, "province_code": case.province_code, "sla_due_at": case.sla_due_at,
            "reopened": case.reopen_count > 0, "request_id": request_id}


def escalated_payload(case: CareCase, escalation: Escalation) -> dict[str, Any]:
    """Fields of ``care-case-escalated``."""
    return {"case_id": case.case_id, "customer_id": case.customer_id, "level": escalation.level,
            "from_owner": escalation.from_owner, "to_owner": escalation.to_owner,
            "breached_at": escalation.breached_at, "sla_due_at": escalation.sla_due_at}


# --- JSON-column serialization -------------------------------------------------------------------

_DATETIMES = ("opened_at", "sla_due_at", "paused_at", "resolved_at")


def case_to_dict(case: CareCase) -> dict[str, Any]:
    """JSON-ready state: ISO 8601 datetimes, seconds for durations."""
    return {
        "case_id": case.case_id,
        "customer_id": case.customer_id,
        "kind": case.kind.value,
        "owner": case.owner,
        "province_code": case.province_code,
        "level": case.level,
        **{name: (None if getattr(case, name) is None else getattr(case, name).isoformat())
           for name in _DATETIMES},
        "remaining": None if case.remaining is None else case.remaining.total_seconds(),
        "status": case.status.value,
        "reopen_count": case.reopen_count,
        "assignee": case.assignee,
        "outcome": case.outcome,
        "resolution": case.resolution,
    }


def case_from_dict(d: Mapping[str, Any]) -> CareCase:
    def when(name: str) -> dt.datetime | None:
        value = d.get(name)
        return None if value is None else _aware(dt.datetime.fromisoformat(value), name)

    remaining = d.get("remaining")
    return CareCase(
        case_id=d["case_id"],
        customer_id=d["customer_id"],
        kind=CareKind(d["kind"]),
        owner=d["owner"],
        province_code=d.get("province_code"),
        opened_at=when("opened_at"),
        sla_due_at=when("sla_due_at"),
        level=int(d.get("level", 0)),
        paused_at=when("paused_at"),
        remaining=None if remaining is None else dt.timedelta(seconds=remaining),
        status=CaseStatus(d.get("status", "open")),
        resolved_at=when("resolved_at"),
        reopen_count=int(d.get("reopen_count", 0)),
        assignee=d.get("assignee"),
        outcome=d.get("outcome"),
        resolution=d.get("resolution"),
    )
