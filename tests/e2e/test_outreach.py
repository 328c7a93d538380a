"""Process A end to end: every outreach service as a process on the real broker. The test imports
a Vietnam Social Security list and plays the telephony platform and the marketing tool; time is
moved through the services' clock file.

Each service's paths are tested in-process (tests/unit/services): the call sequences (mobile first,
the landline after a wrong person, the retry cap, the number left in a reply), the hotline support,
the hand-back to TCT and its refusals, and a re-imported lead not contacted again. This journey
keeps what only the services together show: a list through every service, the clock file moving
the reply wait, the funnel and the owners at the end, each customer supported once."""

from __future__ import annotations

import datetime as dt
import signal

import pytest
from sqlalchemy import select

from shared.clock import set_file_clock
from shared.local.demo import Peers
from shared.domain.leads import lead_id
from shared.kafka import Publisher, ensure_all_topics
from shared.operators.reports import funnel
from shared.store import session_factory
from shared.store.models import Consent, Escalation, Lead
from tests.support import TopicReader, run_cli, start_service, wait_for, write_csv

pytestmark = pytest.mark.e2e
VN = dt.timezone(dt.timedelta(hours=7))
START = dt.datetime(2026, 5, 4, 9, 0, tzinfo=VN)  # a Monday morning: calls and SMS are permitted
SERVICES = ("normalizer", "segmenter", "replies", "calls", "escalations", "lead-ledger")

LIST = [
    ["Mã số thuế", "Tên doanh nghiệp", "Địa chỉ", "Điện thoại", "Email"],
    ["0100233488", "Công ty TNHH Minh An", "12 Tràng Tiền, Hoàn Kiếm, Hà Nội", "0166 234 5678", "lienhe@minhan.vn"],
    ["0314409058", "Công ty CP Sài Gòn Xanh", "45 Lê Lợi, Quận 1, TP.HCM", "0903 111 222 - (08) 3825 1234", ""],
    ["0300000018", "Công ty TNHH Kỹ thuật Hải Phòng", "Số 5 đường Hải Phòng, Thanh Khê, Đà Nẵng", "0905.111.222", ""],
    ["0400000029", "Công ty TNHH An Phát", "KCN Trà Nóc, Cần Thơ", "", "ketoan@anphat.com.vn"],
    ["0600000040", "Công ty TNHH Gỗ Đồng Nai", "Biên Hòa, Đồng Nai", "", "info[at]godongnai.vn"],
    ["1100000090", "Công ty TNHH May Hưng Yên", "Văn Lâm, Hưng Yên", "", "hr@mayhungyen.vn"],
    ["0800000062", "Doanh nghiệp tư nhân Hưng Thịnh", "Thái Bình", "", ""],
    ["0900000073", "Công ty TNHH Nông sản Lục Ngạn", "Lục Ngạn, Bắc Giang", "1900 54 54 81", ""],
    ["0700000051", "Công ty CP Xây dựng Tây Nguyên", "Pleiku, Gia Lai", "0977 000 111", ""],
    ["0100233488", "Công ty TNHH Minh An", "12 Tràng Tiền, Hoàn Kiếm, Hà Nội", "0166 234 5678", "lienhe@minhan.vn"],
    ["0100233480", "", "Hà Nội", "0912 000 000", ""],
    ["", "Hộ kinh doanh Phúc Lộc", "20 Lê Lợi, TP Huế", "0234 3822 123", ""],
    ["0200000102", "Công ty TNHH Thương mại Cảng", "Ngô Quyền, Hải Phòng", "", "kinhdoanh@thuongmaicang.vn"],
]
CONSENT = [["contact", "channel", "status", "evidence"]] + [
    [number, "all", "granted", "hợp đồng BHXH điện tử"]
    for number in ("0166 234 5678", "0903111222", "02838251234", "0905111222", "02343822123")] + [
    [address, "email", "granted", "đăng ký nhận tin"]
    for address in ("lienhe@minhan.vn", "ketoan@anphat.com.vn", "info@godongnai.vn", "hr@mayhungyen.vn",
                    "kinhdoanh@thuongmaicang.vn")] + [
    ["0977000111", "all", "granted", "hợp đồng"], ["0977000111", "all", "dnc_listed", "danh sách DNC quốc gia"]]
REGISTRY = [["tax_code", "company_name", "status", "address", "phones", "emails"],
            ["0800000062", "Doanh nghiệp tư nhân Hưng Thịnh", "ngừng hoạt động", "Thái Bình", "", ""]]
CALLS = {"+84362345678": ["right_person"], "+84903111222": ["wrong_person"], "+842838251234": ["right_person"],
         "+84905111222": ["no_answer", "busy", "no_answer"], "+84903123456": ["right_person"],
         "+842343822123": ["right_person"]}
REPLIES = {"ketoan@anphat.com.vn": "Chào anh chị, vui lòng gọi cho tôi qua số 0903 123 456 giờ hành chính.",
           "info@godongnai.vn": "Xin ngừng gửi email quảng cáo cho chúng tôi."}


@pytest.fixture
def outreach(settings_for, sqlite_url, tmp_path):
    clock_file = tmp_path / "clock"
    set_file_clock(clock_file, START)
    write_csv(tmp_path / "registry.csv", REGISTRY)
    settings = settings_for(sqlite_url, clock_file=str(clock_file))
    ensure_all_topics(settings.kafka_bootstrap_servers, settings.partitions, settings.topic_prefix)
    env = {"CAREFLOW_CLOCK_FILE": str(clock_file), "CAREFLOW_REGISTRY_FILE": str(tmp_path / "registry.csv"),
           "CAREFLOW_TICK_SECONDS": "0.2"}
    services = [start_service(name, settings, extra_env=env, log_path=tmp_path / f"{name}.log") for name in SERVICES]
    yield settings, clock_file
    for process in services:
        process.send_signal(signal.SIGTERM)
    assert [p.wait(30) for p in services] == [0] * len(SERVICES)


def test_a_list_ends_supported_or_escalated_to_the_right_post_office(outreach, sqlite_url, tmp_path):
    settings, clock_file = outreach
    sessions = session_factory(sqlite_url)
    write_csv(tmp_path / "consent.csv", CONSENT)
    assert run_cli(settings, "consent", "import", str(tmp_path / "consent.csv")).returncode == 0

    def consents():
        with sessions() as session:
            return {c.contact: c for c in session.scalars(select(Consent))}
    wait_for(lambda: len(consents()) == 11, message="the consent list in the store")

    write_csv(tmp_path / "list.csv", LIST)
    imported = run_cli(settings, "import", str(tmp_path / "list.csv"), "--quiet")
    assert imported.returncode == 0, imported.stderr
    rejects = (tmp_path / "list.csv.rejects.csv").read_text(encoding="utf-8")
    assert rejects.splitlines()[1:] == [  # data row 11: a bad tax code and no name to go by
        "11,tax_code,invalid tax code (check digit) and no company name to identify the enterprise,0100233480"]

    publisher = Publisher(settings.kafka_bootstrap_servers, "test-peers", settings.topic_prefix)
    peers = Peers(settings.kafka_bootstrap_servers, settings.topic_prefix, publisher,
                  lambda: START, call_script=CALLS, replies=REPLIES)
    expected_leads = 11  # 12 readable rows, one of them the same enterprise again

    def stages():
        with sessions() as session:
            return {lead.lead_id: lead.stage for lead in session.scalars(select(Lead))}

    def settled():
        peers.pump()
        current = stages()
        return len(current) == expected_leads and peers.idle() and all(
            s in ("supported", "escalated", "in_outreach") for s in current.values())
    wait_for(settled, timeout=120, message="every lead supported, escalated or waiting")
    assert sorted(lead for lead, stage in stages().items() if stage == "in_outreach") == [
        "mst:0200000102", "mst:1100000090"]
    # An e-mail-only customer calls the 1900 hotline and is helped before the reply wait ends.
    publisher.publish("call-ended", call_id="hotline-0", subject_type="lead", subject_id="mst:0200000102",
                      number="+842253000000", direction="inbound_hotline", disposition="agent_resolved")
    publisher.flush()
    wait_for(lambda: stages()["mst:0200000102"] == "supported", message="the hotline support")
    # A customer texts the short code to stop (the number as the gateway writes it, the pre-2018 one).
    publisher.publish("sms-replied", msisdn="0166 234 5678", text="Hủy QC", replied_at=START, shortcode="9029")
    publisher.flush()
    wait_for(lambda: "sms" in consents()["+84362345678"].withdrawn, message="the SMS opt-out")
    recalled = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix + "outreach-cancelled")
    recalled.read_until(2, settle=1)
    assert sorted((c.contact, c.channel, len(c.request_ids)) for c in recalled.events("outreach-cancelled")) == [
        ("+84362345678", "sms", 1), ("info@godongnai.vn", "email", 1)]  # and the e-mail of the earlier opt-out
    recalled.close()

    set_file_clock(clock_file, START + dt.timedelta(hours=73))  # past the 72 h reply wait
    wait_for(lambda: stages()["mst:1100000090"] == "escalated", message="the no-reply escalation")
    peers.close()

    with sessions() as session:
        escalations = {e.lead_id: (e.owner, e.reason) for e in session.scalars(select(Escalation))}
        report = funnel(session)
    assert escalations == {
        "mst:0300000018": ("BDT-48", "unreachable"),        # Đà Nẵng, though the street is named Hải Phòng
        "mst:0600000040": ("BDT-75", "refused"),            # asked by e-mail to stop
        "mst:1100000090": ("BDT-33", "no_email_reply"),
        "mst:0800000062": ("BDT-33", "inactive"),           # Thái Bình merged into Hưng Yên
        "mst:0900000073": ("BDT-24", "insufficient_contacts"),  # a 1900 number makes no lead callable
        "mst:0700000051": ("BDT-52", "unreachable"),        # the only number is on the Do-Not-Call list
    }
    supported = {lead for lead, stage in stages().items() if stage == "supported"}
    assert supported == {"mst:0100233488", "mst:0314409058", "mst:0400000029", "mst:0200000102",
                         lead_id(None, False, "Hộ kinh doanh Phúc Lộc", "46")}
    assert report["overall"]["imported"] == expected_leads
    assert report["overall"]["supported"] == 5 and report["overall"]["escalated"] == 6
    assert report["escalated_by_owner"] == {"BDT-24": 1, "BDT-33": 2, "BDT-48": 1, "BDT-52": 1, "BDT-75": 1}
    assert consents()["info@godongnai.vn"].withdrawn == ["email"]

    reader = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix + "customer-supported")
    reader.read_until(5, settle=2)
    assert sorted(e.lead_id for e in reader.events("customer-supported")) == sorted(supported)  # once each
    reader.close()
