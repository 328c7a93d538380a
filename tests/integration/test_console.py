"""The console's routes through Starlette's TestClient on a SQLite store, services in-process:
every role boundary, CSRF, sign-in and its throttling, the actions and the events they publish."""

from __future__ import annotations

import pytest

from shared.store import session_factory
from shared.store.models import BlockedRequest, CareCase, ConsoleAudit, Escalation, Lead
from tests.console_support import CUSTOMER, HANOI_LEAD, HCM_LEAD, PASSWORD, console_app, csrf_of, seeded, signed_in


def refuse_publishing(event_type, **fields):
    raise AssertionError(f"the console published {event_type} for a refused request")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return tmp_path_factory.mktemp("console") / "seeded.db"


@pytest.fixture
def store(template, tmp_path):
    url = f"sqlite:///{tmp_path / 'careflow.db'}"
    return url, seeded(template, url)


@pytest.fixture
def app(store):
    return console_app(store[0], refuse_publishing)


def audit(url: str) -> list[tuple]:
    with session_factory(url)() as session:
        return [(a.username, a.action, a.subject, a.result) for a in session.query(ConsoleAudit).order_by(
            ConsoleAudit.audit_id)]


def test_a_post_office_sees_its_province_only(app):
    bdt01 = signed_in(app, "bdt01")
    worklist = bdt01.get("/leads").text
    assert "Công ty TNHH Minh An" in worklist and "Sài Gòn Xanh" not in worklist
    # Asking for another unit's list shows its own.
    assert "Sài Gòn Xanh" not in bdt01.get("/leads", params={"owner": "BDT-79"}).text
    assert bdt01.get(f"/leads/{HANOI_LEAD}").status_code == 200
    assert bdt01.get(f"/leads/{HCM_LEAD}").status_code == 404


def test_another_provinces_action_is_refused_and_audited(app, store):
    bdt79 = signed_in(app, "bdt79")
    token = csrf_of(bdt79, "/leads")
    for path, data in ((f"/leads/{HANOI_LEAD}/work", {"outcome": "supported"}),
                       (f"/leads/{HANOI_LEAD}/return", {"note": "không phải của chúng tôi"})):
        assert bdt79.post(path, data={**data, "csrf": token}).status_code == 404
    assert ("bdt79", "open:lead", HANOI_LEAD, "refused") in audit(store[0])


def test_a_form_without_its_csrf_token_is_refused(app):
    bdt01 = signed_in(app, "bdt01")
    assert bdt01.post(f"/leads/{HANOI_LEAD}/work", data={"outcome": "supported"}).status_code == 403
    assert bdt01.post(f"/leads/{HANOI_LEAD}/work", data={"outcome": "supported", "csrf": "forged"}).status_code == 403
    # Another session's token is no good either.
    other = csrf_of(signed_in(app, "bdt01"), "/leads")
    assert bdt01.post(f"/leads/{HANOI_LEAD}/work", data={"outcome": "supported", "csrf": other}).status_code == 403
    from fastapi.testclient import TestClient
    anonymous = TestClient(app)
    assert anonymous.post("/login", data={"username": "bdt01", "password": PASSWORD}).status_code == 403


def test_a_wrong_password_is_refused_and_repeated_failures_throttled(app, store):
    from fastapi.testclient import TestClient

    client = TestClient(app)
    for _ in range(5):
        wrong = client.post("/login", data={"username": "bdt01", "password": "đoán-thử-1234", "csrf": csrf_of(client)})
        assert wrong.status_code == 401 and "/leads" not in wrong.text
    # Now even the right password waits for the window to pass.
    throttled = client.post("/login", data={"username": "bdt01", "password": PASSWORD, "csrf": csrf_of(client)})
    assert throttled.status_code == 429
    assert client.get("/leads", follow_redirects=False).status_code == 303
    assert [r for _, action, _, r in audit(store[0]) if action == "login"][-6:] == ["failed"] * 5 + ["throttled"]


@pytest.mark.parametrize("username, allowed, refused", [
    ("admin", ["/funnel", "/audit", "/users", "/leads"], ["/care", "/imports", "/privacy"]),
    ("tct", ["/leads", "/funnel", "/imports", "/profiles"], ["/care", "/audit", "/users"]),
    ("bdt01", ["/leads", "/funnel"], ["/care", "/audit", "/imports", "/profiles"]),
    ("cskh", ["/care", "/care/case-r1", f"/customers/{CUSTOMER}"], ["/leads", "/funnel", "/audit", "/imports"]),
    ("tongdai", ["/profiles", "/funnel"], ["/leads", "/care", "/audit"]),
    ("dpo", ["/privacy"], ["/leads", "/care", "/funnel", "/audit"]),
])
def test_each_role_opens_its_pages_only(app, username, allowed, refused):
    client = signed_in(app, username)
    for path in allowed:
        assert client.get(path).status_code == 200, path
    for path in refused:
        assert client.get(path).status_code == 403, path


def test_a_post_office_works_a_lead_to_supported_through_the_services(store):
    url, services = store
    app = console_app(url, services.publish)
    bdt01 = signed_in(app, "bdt01")
    lead = bdt01.get(f"/leads/{HANOI_LEAD}")
    response = bdt01.post(f"/leads/{HANOI_LEAD}/work", data={"outcome": "supported", "note": "gọi trực tiếp",
                                                             "csrf": csrf_of(bdt01, f"/leads/{HANOI_LEAD}")},
                          follow_redirects=False)
    assert lead.status_code == 200 and response.status_code == 303
    (worked,) = [e for e in services.published if e.envelope.event_type == "lead-worked"]
    assert (worked.worked_by, worked.user, worked.outcome) == ("BDT-01", "bdt01", "supported")
    with session_factory(url)() as session:
        assert session.get(Lead, HANOI_LEAD).stage == "supported"
        assert session.get(Escalation, HANOI_LEAD).outcome == "supported"
    assert ("bdt01", "work:supported", HANOI_LEAD, "done") in audit(url)
    assert "Công ty TNHH Minh An" not in bdt01.get("/leads").text  # off the worklist
    # Done once: the same action again is refused (the escalation is closed).
    again = bdt01.post(f"/leads/{HANOI_LEAD}/work", data={"outcome": "supported", "csrf": csrf_of(bdt01, "/leads")})
    assert again.status_code == 403
    admin = signed_in(app, "admin")
    assert worked.envelope.event_id in admin.get("/audit").text
    funnel = admin.get("/funnel", params={"source": "bhxh-2026-03.csv", "province": "01"}).text
    by_list = funnel.split('id="by-list"')[1].split("</table>")[0]
    # Hà Nội's two leads of that list: both imported and normalized, both supported now.
    assert [cell.split("<")[0] for cell in by_list.split('class="num">')[1:]] == ["2", "2", "2", "0", "0"]


def test_the_funnel_counts_requests_the_contact_rules_blocked_by_reason_and_channel(app, store):
    from tests.handlers import MORNING

    with session_factory(store[0])() as session:
        session.add_all(BlockedRequest(lead_id=lead, channel=channel, reason=reason, decided_at=MORNING)
                        for lead, channel, reason in ((HANOI_LEAD, "sms", "dnc_listed"), (HANOI_LEAD, "call", "dnc_listed"),
                                                      (HANOI_LEAD, "email", "no_consent"), (HCM_LEAD, "sms", "hours")))
        session.commit()

    def table(page: str, name: str) -> list[list[str]]:
        rows = page.split(f'id="{name}"')[1].split("</table>")[0].split("<tbody>")[1].split("<tr>")[1:]
        return [[cell.split("</td>")[0] for cell in row.split(">", 1)[1].split("<td")] for row in rows]

    funnel = signed_in(app, "admin").get("/funnel").text
    assert [[c.split(">")[-1] for c in row] for row in table(funnel, "blocked-by-reason")] == [
        ["Danh sách Không làm phiền", "2"], ["Ngoài khung giờ (dời lại)", "1"], ["Chưa có đồng ý", "1"]]
    assert [[c.split(">")[-1] for c in row] for row in table(funnel, "blocked-by-channel")] == [
        ["SMS", "2"], ["Cuộc gọi", "1"], ["E-mail", "1"]]
    # A post office sees its own province's only.
    bdt79 = signed_in(app, "bdt79").get("/funnel").text
    assert [[c.split(">")[-1] for c in row] for row in table(bdt79, "blocked-by-reason")] == [
        ["Ngoài khung giờ (dời lại)", "1"]]


def test_a_contact_found_must_be_a_real_contact(store):
    url, services = store
    bdt01 = signed_in(console_app(url, services.publish), "bdt01")
    token = csrf_of(bdt01, "/leads")
    bad = bdt01.post(f"/leads/{HANOI_LEAD}/work", data={"outcome": "contact_found", "phone": "1900 1234",
                                                        "csrf": token})
    assert bad.status_code == 400 and services.published == []
    bdt01.post(f"/leads/{HANOI_LEAD}/work", data={"outcome": "contact_found", "phone": "0912.345.678",
                                                  "csrf": token})
    worked = services.published[-1]
    assert (worked.outcome, worked.phone) == ("contact_found", "+84912345678")
    with session_factory(url)() as session:
        assert session.get(Lead, HANOI_LEAD).stage in ("in_outreach", "escalated")


def test_a_hand_back_goes_to_tct_who_then_works_it(store):
    url, services = store
    app = console_app(url, services.publish)
    bdt79 = signed_in(app, "bdt79")
    bdt79.post(f"/leads/{HCM_LEAD}/return", data={"note": "doanh nghiệp ở tỉnh khác", "csrf": csrf_of(bdt79, "/leads")})
    tct = signed_in(app, "tct")
    assert "Sài Gòn Xanh" in tct.get("/leads").text
    tct.post(f"/leads/{HCM_LEAD}/work", data={"outcome": "closed_inactive", "csrf": csrf_of(tct, "/leads")})
    with session_factory(url)() as session:
        assert session.get(Lead, HCM_LEAD).stage == "closed_inactive"


def test_a_care_agent_works_a_case_to_resolved_and_reopens_it(store):
    url, services = store
    cskh = signed_in(console_app(url, services.publish), "cskh")
    desk = cskh.get("/care").text
    assert "case-r1" in desk
    for action, text in (("take", ""), ("note", "đã gọi khách"), ("pause", ""), ("resume", ""),
                         ("escalate", "khách yêu cầu lãnh đạo"), ("resolve", "đã giao lại bưu phẩm")):
        response = cskh.post(f"/care/case-r1/{action}", data={"text": text, "csrf": csrf_of(cskh, "/care")},
                             follow_redirects=False)
        assert response.status_code == 303, (action, response.text)
    with session_factory(url)() as session:
        case = session.get(CareCase, "case-r1")
        assert (case.level, case.status, case.state["resolution"]) == (1, "resolved", "đã giao lại bưu phẩm")
    assert "case-r1" not in cskh.get("/care").text
    assert cskh.post("/care/case-r1/resolve", data={"csrf": csrf_of(cskh, "/care")}).status_code == 409
    cskh.post("/care/case-r1/reopen", data={"text": "khách báo lại", "csrf": csrf_of(cskh, "/care")})
    assert "case-r1" in cskh.get("/care").text
    timeline = cskh.get(f"/customers/{CUSTOMER}").text
    assert "case-r1" in timeline and "care:resolve" in timeline


def test_the_console_speaks_vietnamese_first_and_english_on_request(app):
    client = signed_in(app, "bdt01")
    assert "Đăng xuất" in client.get("/leads").text
    client.post("/language", data={"lang": "en", "csrf": csrf_of(client, "/leads")})
    page = client.get("/leads").text
    assert "Sign out" in page and "10/03/2026" in page  # dd/MM/yyyy, Vietnam time


@pytest.mark.integration
def test_actions_and_browser_imports_reach_the_broker(store, tmp_path, kafka_bootstrap, topic_prefix):
    """With the real broker: a lead worked from the console is on the lead-worked topic, an uploaded
    list's rows on lead-imported, and its reject file downloads."""
    from shared.kafka import Publisher, ensure_all_topics
    from tests.support import TopicReader

    url, _ = store
    ensure_all_topics(kafka_bootstrap, 1, topic_prefix)
    publisher = Publisher(kafka_bootstrap, "careflow-console", topic_prefix)

    def publish(event_type, **fields):
        event = publisher.publish(event_type, **fields)
        publisher.flush(15)
        return event

    app = console_app(url, publish, upload_dir=tmp_path / "uploads",
                      new_publisher=lambda: Publisher(kafka_bootstrap, "careflow-console-import", topic_prefix))
    bdt01 = signed_in(app, "bdt01")
    bdt01.post(f"/leads/{HANOI_LEAD}/work", data={"outcome": "closed_inactive", "note": "đã giải thể",
                                                  "csrf": csrf_of(bdt01, "/leads")})
    worked = TopicReader(kafka_bootstrap, f"{topic_prefix}lead-worked")
    (message,) = worked.read_until(1, timeout=30)
    event = worked.events("lead-worked")[0]
    assert (message.key(), event.outcome, event.worked_by, event.note) == (HANOI_LEAD.encode(), "closed_inactive",
                                                                           "BDT-01", "đã giải thể")
    tct = signed_in(app, "tct")
    rows = "MST,Tên doanh nghiệp,Địa chỉ\n0314409058,Công ty CP Sài Gòn Xanh,TP.HCM\n0100233481,,Hà Nội\n"
    page = tct.post("/imports", files={"file": ("bhxh.csv", rows.encode(), "text/csv")},
                    data={"csrf": csrf_of(tct, "/imports")})
    assert page.status_code == 200
    assert [page.text.split(f'id="{n}">')[1].split("<")[0] for n in ("rows", "published", "rejected")] == ["2", "1", "1"]
    rejects = tct.get(page.text.split('id="rejects" href="')[1].split('"')[0])
    assert rejects.status_code == 200 and "tax_code" in rejects.text and "check digit" in rejects.text
    imported = TopicReader(kafka_bootstrap, f"{topic_prefix}lead-imported")
    assert len(imported.read_until(1, timeout=30)) == 1
    worked.close(), imported.close()


def test_the_dpo_lists_open_requests_overdue_first_erases_a_person_and_downloads_an_access_export(store):
    import datetime as dt
    import json

    from shared.config import Settings
    from shared.contract import build_event, envelope
    from shared.privacy import requests
    from tests.handlers import MORNING

    url, _ = store
    settings = Settings(privacy_key="console-test-key")
    with session_factory(url)() as session:
        late = requests.record(session, settings, "erasure", "a" * 64, "phone", MORNING - dt.timedelta(days=30))
        on_time = requests.record(session, settings, "access", "b" * 64, "email", MORNING - dt.timedelta(days=1))
        session.commit()
        late_id, on_time_id = late.request_id, on_time.request_id
    published = []

    def publish(event_type, **fields):
        published.append(build_event(event_type, envelope(event_type, "careflow-console", occurred_at=MORNING),
                                     **fields))
        return published[-1]

    app = console_app(url, publish, settings=settings)
    dpo = signed_in(app, "dpo")
    page = dpo.get("/privacy").text
    listed = page.split('id="requests"')[1].split("</table>")[0]
    assert listed.index(late_id) < listed.index(on_time_id) and "quá hạn" in listed.split(on_time_id)[0]

    token = csrf_of(dpo, "/privacy")
    form = {"kind": "tax_code", "value": "0100233488"}
    assert dpo.post("/privacy/erase", data=form).status_code == 403  # no CSRF token
    for other in ("admin", "tct", "bdt01"):
        client = signed_in(app, other)
        assert client.post("/privacy/erase", data={**form, "csrf": csrf_of(client, "/login")}).status_code == 403
    assert published == [] and ("admin", "open:privacy", "/privacy/erase", "refused") in audit(url)
    bad = dpo.post("/privacy/erase", data={"kind": "phone", "value": "12", "csrf": token})
    assert bad.status_code == 400 and published == []

    erased = dpo.post("/privacy/erase", data={**form, "csrf": token})
    assert erased.status_code == 200
    (request,) = published
    assert request.envelope.event_type == "subject-erasure-requested" and HANOI_LEAD in request.lead_ids
    assert request.request_id in erased.text.split('id="erased"')[1]  # and now among the open requests
    assert request.request_id in erased.text.split('id="requests"')[1]

    export = dpo.post("/privacy/access", data={"kind": "tax_code", "value": "0100233488", "csrf": token})
    assert export.headers["content-disposition"].startswith("attachment")
    held = json.loads(export.text)
    assert [lead["lead_id"] for lead in held["held"]["leads"]] == [HANOI_LEAD]
    lines = [line for line in audit(url) if line[1].startswith("privacy:")]
    assert lines == [("dpo", "privacy:erase", None, "failed"), ("dpo", "privacy:erase", request.request_id, "done"),
                     ("dpo", "privacy:access", held["request_id"], "done")]
    with session_factory(url)() as session:
        details = [a.detail or "" for a in session.query(ConsoleAudit)]
    assert not any("0100233488" in d for d in details)  # the identifier is never written in the audit log


def test_signing_in_is_not_refused_when_a_service_commits_during_the_password_check(app, store, monkeypatch):
    import threading

    from shared.console import access
    from tests.handlers import MORNING

    service = session_factory(store[0], for_writes=True)
    committed = threading.Event()

    def a_service_batch():
        with service.begin() as session:
            session.add(BlockedRequest(lead_id=HANOI_LEAD, channel="sms", reason="no_consent", decided_at=MORNING))
        committed.set()

    class Hasher:  # argon2's check, with a service's batch committed while it runs (it takes ~50 ms)
        def verify(self, hashed, password):
            threading.Thread(target=a_service_batch).start()
            assert committed.wait(5), "the service's batch waited for the sign-in"
            return hasher.verify(hashed, password)

        def __getattr__(self, name):
            return getattr(hasher, name)

    hasher = access._hasher
    monkeypatch.setattr(access, "_hasher", Hasher())
    signed_in(app, "bdt01")
    assert ("bdt01", "login", None, "done") in audit(store[0])
