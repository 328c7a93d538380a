"""After-sales care end to end: the care-cases service as a process on the real broker; the test
plays the hotline, the agents and the CRM, and moves time through the service's clock file.

The handlers' paths (routing, a paused clock, the ladder, reopening, rejected requests) are tested
in-process (tests/unit/services/test_care_cases.py); this journey keeps the SLA deadlines fired by
the running service as its clock moves, and the cases report read from what it stored."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys

import pytest
from sqlalchemy import select

from shared.clock import set_file_clock
from shared.kafka import Publisher, ensure_all_topics
from shared.store import session_factory
from shared.store.models import CareCase, CareCustomer
from tests.support import ROOT, TopicReader, start_service, wait_for

pytestmark = pytest.mark.e2e
VN = dt.timezone(dt.timedelta(hours=7))
START = dt.datetime(2026, 6, 1, 8, 0, tzinfo=VN)


@pytest.fixture
def care(settings_for, sqlite_url, tmp_path):
    clock_file = tmp_path / "clock"
    set_file_clock(clock_file, START)
    settings = settings_for(sqlite_url, clock_file=str(clock_file))
    ensure_all_topics(settings.kafka_bootstrap_servers, settings.partitions, settings.topic_prefix)
    service = start_service("care-cases", settings, log_path=tmp_path / "care.log",
                            extra_env={"CAREFLOW_CLOCK_FILE": str(clock_file), "CAREFLOW_TICK_SECONDS": "0.2"})
    yield settings, clock_file
    service.send_signal(signal.SIGTERM)
    assert service.wait(30) == 0


def test_requests_open_cases_breaches_escalate_and_resolved_matters_reopen(care, sqlite_url):
    settings, clock_file = care
    publisher = Publisher(settings.kafka_bootstrap_servers, "test-hotline", settings.topic_prefix)
    sessions = session_factory(sqlite_url)
    for lead, tax_code, province in (("mst:0314409058", "0314409058", "79"), ("mst:0300000018", "0300000018", "48"),
                                     ("name:xx:1a2b3c", None, None)):
        publisher.publish("customer-supported", lead_id=lead, tax_code=tax_code, province_code=province, via="call")
    publisher.flush()

    def customers():
        with sessions() as session:
            return session.scalars(select(CareCustomer)).all()
    wait_for(lambda: len(customers()) == 3, message="the supported customers")

    def cases():
        with sessions() as session:
            return {c.case_id: c for c in session.scalars(select(CareCase))}

    def request(request_id, customer, kind):
        publisher.publish("care-requested", request_id=request_id, customer_id=customer, kind=kind,
                          channel="hotline_1900", text="Yêu cầu hỗ trợ")
        publisher.flush()

    request("r1", "mst:0314409058", "pickup_urging")
    request("r2", "0300000018", "complaint")                 # the customer named by tax code
    request("r3", "name:xx:1a2b3c", "consult_service")
    request("r4", "mst:0300000018", "consult_software")
    wait_for(lambda: len(cases()) == 4, message="four cases opened")
    owners = {c.case_id: (c.kind, c.owner, c.level) for c in cases().values()}
    assert owners == {"case-r1": ("pickup_urging", "BDT-79", 0), "case-r2": ("complaint", "COMPLAINTS", 0),
                      "case-r3": ("consult_service", "HOTLINE", 0), "case-r4": ("consult_software", "HOTLINE", 0)}

    set_file_clock(clock_file, START + dt.timedelta(hours=8))  # the complaint's 8 h SLA, exactly
    wait_for(lambda: cases()["case-r2"].level == 1, message="the first complaint escalation")
    assert cases()["case-r2"].owner == "COMPLAINTS-LEAD"
    assert {c.case_id for c in cases().values() if c.level} == {"case-r2"}

    set_file_clock(clock_file, START + dt.timedelta(hours=30))
    wait_for(lambda: cases()["case-r4"].level == cases()["case-r3"].level == 1 and cases()["case-r2"].level == 2,
             message="more breaches")
    assert cases()["case-r2"].owner == "TCT"                 # a second breach escalates again
    assert cases()["case-r1"].level == 0                     # pickup urging has 48 h

    publisher.publish("care-case-resolved", case_id="case-r1", customer_id="mst:0314409058", outcome="resolved",
                      resolution="Khách đã nhận bưu gửi")
    publisher.flush()
    wait_for(lambda: cases()["case-r1"].status == "resolved", message="the resolution")
    request("r5", "mst:0314409058", "pickup_urging")         # the same matter again, within the window
    opened = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix + "care-case-opened")
    events = opened.read_until(5, settle=1)
    [reopened] = [e for e in opened.events("care-case-opened") if e.request_id == "r5"]
    assert (reopened.case_id, reopened.reopened) == ("case-r1", True)
    assert len(events) == 5 and len(cases()) == 4
    opened.close()

    escalated = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix + "care-case-escalated")
    escalated.read_until(4, settle=2)
    ladder = sorted((e.case_id, e.level, e.from_owner, e.to_owner) for e in escalated.events("care-case-escalated"))
    escalated.close()
    assert ladder == [("case-r2", 1, "COMPLAINTS", "COMPLAINTS-LEAD"), ("case-r2", 2, "COMPLAINTS-LEAD", "TCT"),
                      ("case-r3", 1, "HOTLINE", "HOTLINE-LEAD"), ("case-r4", 1, "HOTLINE", "HOTLINE-LEAD")]

    env = {"DATABASE_URL": sqlite_url, "CAREFLOW_CLOCK_FILE": str(clock_file), "PATH": "/usr/bin:/bin"}
    report = json.loads(subprocess.run([sys.executable, "-m", "shared.operators.cli", "cases", "--json"], cwd=ROOT, env=env,
                                       capture_output=True, text=True, check=True).stdout)
    assert report["sla_breaches_by_kind"]["complaint"] == 2
    assert report["open_by_kind_and_owner"]["pickup_urging / BDT-79"] == 1
