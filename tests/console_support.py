"""The console under test: a store migrated on SQLite, careflow's outreach and care services run
in-process on it (what the console publishes is handled at once, and what they emit in turn),
users of every role, and a few escalated leads and care cases made by the services themselves."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections import deque
from pathlib import Path

from sqlalchemy.engine import make_url

from argon2 import PasswordHasher, profiles
from fastapi.testclient import TestClient

from services import load
from shared.console import access
from shared.console.app import create_app
from shared.contract import build_event, envelope
from shared.store import migrate, session_factory
from tests.handlers import MORNING, InProcess

PASSWORD = "mật-khẩu-đủ-dài"
# Argon2's cheapest parameters (argon2.profiles, "for tests"): the production ones cost ~100 ms a hash.
access._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
# name: (role, unit)
USERS = {"admin": ("admin", None), "tct": ("tct_supervisor", None), "bdt01": ("bdt_staff", "BDT-01"),
         "bdt79": ("bdt_staff", "BDT-79"), "cskh": ("care_agent", None), "tongdai": ("callcentre_supervisor", None),
         "dpo": ("dpo", None)}
HANOI_LEAD, HCM_LEAD, CUSTOMER = "mst:0100233488", "mst:0314409058", "mst:0100109106"


class Services:
    """escalations, segmenter, lead-ledger and care-cases on one store: `publish` hands an event to
    every service that consumes it, then what they emitted, until nothing is left."""

    NAMES = ("escalations", "segmenter", "lead-ledger", "care-cases")

    def __init__(self, database_url: str, now: dt.datetime = MORNING):
        self.services = [InProcess(load(name), database_url=database_url, now=now) for name in self.NAMES]
        self.published: list = []

    def publish(self, event_type: str, **fields):
        event = build_event(event_type, envelope(event_type, "careflow-console", occurred_at=self.services[0].now),
                            **fields)
        self.published.append(event)
        pending = deque([event])
        while pending:
            current = pending.popleft()
            for service in self.services:
                if current.envelope.event_type in service.batch.service.handlers:
                    emitted = service.send(current)
                    assert not emitted.dead_letters, emitted.dead_letters
                    pending.extend(event for _, event in emitted.events)
        return event

    def advance(self, by: dt.timedelta) -> None:
        for service in self.services:
            service.advance(by)


def seeded(template: Path, database_url: str) -> Services:
    """The seeded store (made once in `template`, a SQLite file) copied to `database_url`'s file."""
    if not template.exists():
        seed(f"sqlite:///{template}")
    target = make_url(database_url).database
    for suffix in ("", "-wal"):  # the seeding services' writes may still be in the write-ahead log
        if Path(f"{template}{suffix}").exists():
            shutil.copyfile(f"{template}{suffix}", f"{target}{suffix}")
    return Services(database_url)


def seed(database_url: str) -> Services:
    """Users of every role; a Hà Nội lead and a TP HCM lead escalated for want of contacts; a supported
    customer with an open complaint case."""
    migrate(database_url)
    with session_factory(database_url)() as session:
        for name, (role, unit) in USERS.items():
            access.add_user(session, name, role, PASSWORD, unit, MORNING)
        session.commit()
    services = Services(database_url)
    for lead_id, tax_code, name, province in ((HANOI_LEAD, "0100233488", "Công ty TNHH Minh An", "01"),
                                              (HCM_LEAD, "0314409058", "Công ty CP Sài Gòn Xanh", "79"),
                                              (CUSTOMER, "0100109106", "Công ty Bưu chính Hà Thành", "01")):
        services.publish("lead-imported", lead_id=lead_id, source="bhxh-2026-03.csv", row_number=1, tax_code=tax_code,
                         company_name=name, address=None, phones=None, emails=None, bhxh_unit_code=None)
        services.publish("lead-normalized", lead_id=lead_id, tax_code=tax_code, tax_code_valid=True,
                         company_name=name, province_code=province, phones=[], emails=[], invalid_phones=[],
                         invalid_emails=[], has_email=False, has_mobile=False, has_landline=False,
                         outreach_list="insufficient")
    services.publish("customer-supported", lead_id=CUSTOMER, tax_code="0100109106", province_code="01", via="hotline")
    services.publish("care-requested", request_id="r1", customer_id=CUSTOMER, kind="complaint", channel="hotline",
                     text="Bưu phẩm chưa tới")
    return services


def console_app(database_url: str, publish, now=lambda: MORNING, upload_dir=None, new_publisher=None, settings=None):
    return create_app(session_factory(database_url), publish, now, "test-secret", upload_dir or Path("/nonexistent"),
                      new_publisher, settings)


def csrf_of(client: TestClient, path: str = "/login") -> str:
    page = client.get(path)
    return re.search(r'name="csrf" value="([^"]+)"', page.text)[1]


def signed_in(app, username: str, password: str = PASSWORD) -> TestClient:
    client = TestClient(app)
    response = client.post("/login", data={"username": username, "password": password, "csrf": csrf_of(client)},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return client
