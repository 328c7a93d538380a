"""Who may do what in the console: roles, units, Argon2 passwords, login throttling, the audit log.

Every check is here, on the server; the pages only hide what the checks would refuse anyway."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.domain.provinces import TCT, post_office_code
from shared.store.models import ConsoleAudit, ConsoleUser, Escalation, Lead

ROLES = ("admin", "tct_supervisor", "bdt_staff", "care_agent", "callcentre_supervisor", "dpo")
# Which pages each role opens (the navigation and the route guards read the same table).
PAGES: dict[str, tuple[str, ...]] = {
    "admin": ("funnel", "leads", "audit", "users"),
    "tct_supervisor": ("funnel", "leads", "imports", "profiles"),
    "bdt_staff": ("leads", "funnel"),
    "care_agent": ("care",),
    "callcentre_supervisor": ("profiles", "funnel"),
    "dpo": ("privacy",),
}
# Failed logins of one name within the window, after which logins are refused until it passes.
MAX_FAILURES, FAILURE_WINDOW = 5, dt.timedelta(minutes=15)

_hasher = PasswordHasher()


class AccessError(ValueError):
    """A user or an action the rules refuse, with the reason."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    unit: str | None

    @property
    def province(self) -> str | None:
        """The province of a post office's staff: BDT-24 → 24."""
        return self.unit.removeprefix("BDT-") if self.role == "bdt_staff" and self.unit else None

    @property
    def owner_code(self) -> str | None:
        """The escalation owner this user works for: their post office, or TCT for its supervisors."""
        return self.unit if self.role == "bdt_staff" else TCT if self.role == "tct_supervisor" else None

    def opens(self, page: str) -> bool:
        return page in PAGES[self.role]


def add_user(session: Session, username: str, role: str, password: str, unit: str | None,
             now: dt.datetime) -> ConsoleUser:
    if role not in ROLES:
        raise AccessError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if unit is not None and unit != TCT and post_office_code(unit.removeprefix("BDT-")) != unit:
        raise AccessError(f"unknown unit {unit!r}: BDT-<province code> (one of the 34 provinces) or TCT")
    if role == "bdt_staff" and (unit is None or unit == TCT):
        raise AccessError("BĐT staff need --unit BDT-<province code>, e.g. BDT-24")
    if len(password) < 8:
        raise AccessError("a password needs at least 8 characters")
    if session.get(ConsoleUser, username) is not None:
        raise AccessError(f"user {username!r} exists already")
    row = ConsoleUser(username=username, role=role, unit=unit, password_hash=_hasher.hash(password), created_at=now)
    session.add(row)
    return row


def authenticate(session: Session, username: str, password: str, now: dt.datetime) -> User:
    """The user, or AccessError (wrong name or password, or too many failures: throttled)."""
    failures = session.scalar(select(func.count()).select_from(ConsoleAudit).where(
        ConsoleAudit.username == username, ConsoleAudit.action == "login", ConsoleAudit.result == "failed",
        ConsoleAudit.at > now - FAILURE_WINDOW))
    row = session.get(ConsoleUser, username)
    # The reads' transaction ends before the slow password check, so that the audit's write is a
    # transaction of its own: on SQLite, a transaction that has read cannot write once a service has
    # committed meanwhile ("database is locked" at once, a failed sign-in during an import).
    session.commit()
    if failures >= MAX_FAILURES:
        audit(session, username, "login", None, None, "throttled", now)
        raise AccessError("throttled")
    try:
        if row is None:
            raise VerifyMismatchError
        _hasher.verify(row.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        audit(session, username, "login", None, None, "failed", now)
        raise AccessError("wrong") from None
    if _hasher.check_needs_rehash(row.password_hash):
        row.password_hash = _hasher.hash(password)
    audit(session, username, "login", None, None, "done", now)
    return user_of(row)


def user_of(row: ConsoleUser) -> User:
    return User(row.username, row.role, row.unit)


def audit(session: Session, username: str, action: str, subject: str | None, event_id: str | None, result: str,
          now: dt.datetime, detail: str | None = None) -> None:
    session.add(ConsoleAudit(at=now, username=username, action=action, subject=subject, event_id=event_id,
                             result=result, detail=detail))
    session.commit()


def may_see_lead(user: User, lead: Lead | None, escalation: Escalation | None) -> bool:
    """Supervisors and the administrator see every lead; a post office the leads of its province
    and those escalated to it."""
    if user.role in ("admin", "tct_supervisor"):
        return True
    if user.role != "bdt_staff":
        return False
    province = (lead.province_code if lead else None) or (escalation.province_code if escalation else None)
    return province == user.province or (escalation is not None and escalation.owner == user.unit)


def may_work(user: User, escalation: Escalation | None) -> bool:
    """Only the current owner of an open escalation works it: its post office, or TCT's supervisors."""
    return (escalation is not None and escalation.closed_at is None and user.owner_code is not None
            and escalation.owner == user.owner_code)
