"""Erasure end to end: a person goes through outreach (import, consent, calls), a care case and the
call centre with the services as processes on the real broker; `careflow privacy erase` removes
them from every table and stored output, a re-import does not bring them back, and a downstream
consumer hears subject-erased. The topics' retention is bounded by the services on start."""

from __future__ import annotations

import datetime as dt
import signal

import pytest
from sqlalchemy import select

from shared.clock import set_file_clock
from shared.kafka import Publisher, dlq_topic, ensure_all_topics, retention_ms, topic_retention
from shared.store import session_factory
from shared.store.models import Base, CareCase, CareCustomer, Contact, ProcessedEvent, ProfileDecision, Subscriber
from shared.runner import replay
from tests.support import TopicReader, run_cli, start_service, wait_for, write_csv

pytestmark = pytest.mark.e2e
VN = dt.timezone(dt.timedelta(hours=7))
START = dt.datetime(2026, 5, 4, 9, 0, tzinfo=VN)  # a Monday morning: calls and SMS are permitted
SERVICES = ("normalizer", "segmenter", "calls", "lead-ledger", "care-cases", "subscriber-directory",
            "profile-ledger", "privacy")
KEY = "e2e-privacy-key"
RETENTION_DAYS = "3"  # not the broker's default week, so that the services' setting shows
PRIVACY_ENV = {"CAREFLOW_PRIVACY_KEY": KEY, "CAREFLOW_PERSONAL_DATA_RETENTION_DAYS": RETENTION_DAYS}
MOBILE, EMAIL, NAME, TAX = "+84912345678", "ketoan@anphat.com.vn", "Công ty TNHH An Phát", "0100233488"
LIST = [["Mã số thuế", "Tên doanh nghiệp", "Địa chỉ", "Điện thoại", "Email"],
        [TAX, NAME, "12 Tràng Tiền, Hoàn Kiếm, Hà Nội", "0912 345 678", EMAIL],
        ["0314409058", "Công ty CP Sài Gòn Xanh", "45 Lê Lợi, Quận 1, TP.HCM", "0903 111 222", ""]]
CONSENT = [["contact", "channel", "status", "evidence"], ["0912345678", "all", "granted", "hợp đồng"],
           [EMAIL, "email", "granted", "đăng ký nhận tin"], ["0903111222", "all", "granted", "hợp đồng"]]


def _careflow(settings, *args):
    return run_cli(settings, *args, extra_env=PRIVACY_ENV)


@pytest.fixture
def system(settings_for, sqlite_url, tmp_path):
    clock_file = tmp_path / "clock"
    set_file_clock(clock_file, START)
    settings = settings_for(sqlite_url, clock_file=str(clock_file))
    # Created without a retention: the services bound it when they start.
    ensure_all_topics(settings.kafka_bootstrap_servers, settings.partitions, settings.topic_prefix)
    env = {"CAREFLOW_CLOCK_FILE": str(clock_file), "CAREFLOW_TICK_SECONDS": "0.2", **PRIVACY_ENV}
    assert run_cli(settings, "db", "upgrade").returncode == 0
    services = [start_service(name, settings, extra_env=env, log_path=tmp_path / f"{name}.log") for name in SERVICES]
    yield settings
    for process in services:
        process.send_signal(signal.SIGTERM)
    assert [p.wait(30) for p in services] == [0] * len(SERVICES)


def _everything(sessions) -> str:
    seen = []
    with sessions() as session:
        for table in Base.metadata.sorted_tables:
            seen += [repr(tuple(row)) for row in session.execute(select(table))]
        for (blob,) in session.execute(select(ProcessedEvent.outputs)):
            seen += [(o.key + o.value).decode("utf-8", "replace") for o in replay.unpack(blob)]
    return "\n".join(seen)


def test_an_erased_person_is_gone_everywhere_stays_suppressed_and_downstream_hears_it(system, sqlite_url, tmp_path):
    settings = system
    sessions = session_factory(sqlite_url)
    write_csv(tmp_path / "consent.csv", CONSENT)
    write_csv(tmp_path / "list.csv", LIST)
    assert _careflow(settings, "consent", "import", str(tmp_path / "consent.csv"), "--quiet").returncode == 0
    imported = _careflow(settings, "import", str(tmp_path / "list.csv"), "--quiet")
    assert imported.returncode == 0, imported.stderr

    def count(model, *where):
        with sessions() as session:
            return len(session.scalars(select(model).where(*where)).all())
    wait_for(lambda: count(Contact, Contact.value == MOBILE) == 1, timeout=90, message="the lead's contacts")

    publisher = Publisher(settings.kafka_bootstrap_servers, "test-peers", settings.topic_prefix)
    publisher.publish("call-ended", call_id="c1", subject_type="lead", subject_id=f"mst:{TAX}", number=MOBILE,
                      direction="outbound", disposition="right_person")
    publisher.publish("subscriber-upserted", msisdn=MOBILE, owner_type="individual", subscription_type="prepaid",
                      tier="standard", subscribed_since=dt.date(2020, 1, 1), kndl_member=False, hobbies=[])
    publisher.publish("profile-prompted", call_id="p1", msisdn=MOBILE, priority=False, persuade=False,
                      script="xin chào", channel="1090")
    publisher.flush()
    wait_for(lambda: count(Subscriber) == 1 and count(ProfileDecision) == 1, timeout=60, message="the call centre")
    # The answered call made them a supported customer (calls → customer-supported → care-cases).
    wait_for(lambda: count(CareCustomer) == 1, timeout=60, message="the supported customer")
    publisher.publish("care-requested", request_id="r1", customer_id=f"mst:{TAX}", kind="complaint",
                      channel="hotline_1900", text=f"{NAME} cần hỗ trợ")
    publisher.flush()
    wait_for(lambda: count(CareCase) == 1, timeout=60, message="the care case")
    before = _everything(sessions)
    assert all(needle in before for needle in (MOBILE, EMAIL, NAME))

    downstream = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix + "subject-erased")
    erased = _careflow(settings, "privacy", "erase", "--phone", "0912 345 678")
    assert erased.returncode == 0, erased.stderr
    assert "0912" not in erased.stdout and MOBILE not in erased.stdout and "age out by" in erased.stdout
    downstream.read_until(1)
    (announced,) = downstream.events("subject-erased")
    assert "contacts" in announced.data_kinds and announced.suppressed >= 4
    downstream.close()

    wait_for(lambda: not any(n in _everything(sessions) for n in (MOBILE, EMAIL, NAME)), timeout=60,
             message="the person erased from every table and stored output")
    assert "+84903111222" in _everything(sessions)  # the other enterprise stays

    again = _careflow(settings, "import", str(tmp_path / "list.csv"), "--quiet")
    assert again.returncode == 0, again.stderr
    rejects = (tmp_path / "list.csv.rejects.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert rejects == ["1,row,a person erased on request (suppressed): not imported,"]
    assert _careflow(settings, "privacy", "requests").stdout == ""  # the erasure is answered

    bounded = retention_ms(float(RETENTION_DAYS))
    for topic in ("lead-imported", "consent-changed", "subject-erasure-requested"):
        assert topic_retention(settings.kafka_bootstrap_servers, settings.topic_prefix + topic) == bounded
        assert topic_retention(settings.kafka_bootstrap_servers, dlq_topic(settings.topic_prefix + topic)) == bounded
    assert topic_retention(settings.kafka_bootstrap_servers, settings.topic_prefix + "subject-erased") != bounded
