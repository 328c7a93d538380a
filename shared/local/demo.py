"""The demonstration `make run` plays: a small Vietnam Social Security list through the whole
outreach funnel, calls at the 1090 call centre through profile enrichment, and after-sales care.

careflow's peers are played here: the telephony platform answers `call-requested` with scripted
`call-ended` outcomes, the marketing tool answers `email-requested` with scripted replies, the
agent desktop reports profile collections, the hotline raises care requests. Time is moved
forward through the services' clock file, never by sleeping.
"""

from __future__ import annotations

import csv
import datetime as dt
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from confluent_kafka import Consumer
from rich.console import Console
from sqlalchemy import func, select

from shared.contract import codec
from shared.clock import file_clock, set_file_clock
from shared.kafka import Publisher
from shared.config import settings
from shared.store import session_factory
from shared.outreach.requests import reply_wait_id
from shared.store.models import CareCase, Consent, Deadline, Lead, Subscriber

ENTERPRISES = [
    # tax code, name, address, phones, e-mails — each row exercises a rule.
    ("0100233488", "Công ty TNHH Bưu chính Minh An", "12 Tràng Tiền, Hoàn Kiếm, Hà Nội", "0912 345 678", "lienhe@minhan.vn"),
    ("0314409058", "Công ty CP Thương mại Sài Gòn Xanh", "45 Lê Lợi, Quận 1, TP.HCM", "01683 456 789; (08) 3825 1234", ""),
    ("0300000018", "Công ty TNHH Kỹ thuật Hải Phòng", "Số 5 đường Hải Phòng, Thanh Khê, Đà Nẵng", "0905.111.222", ""),
    ("0400000029", "Công ty TNHH Dịch vụ An Phát", "KCN Trà Nóc, Cần Thơ", "", "ketoan@anphat.com.vn"),
    ("0600000040", "Công ty TNHH Gỗ Đồng Nai", "Biên Hòa, Đồng Nai", "", "info[at]godongnai.vn"),
    ("0700000051", "Công ty CP Xây dựng Tây Nguyên", "Pleiku, Gia Lai", "", ""),
    ("0800000062", "Doanh nghiệp tư nhân Hưng Thịnh", "Thái Bình", "0977 000 111", ""),
    ("0900000073", "Công ty TNHH Nông sản Bắc Giang", "Lục Ngạn, Bắc Giang", "", ""),
    ("1100000090", "Công ty TNHH May Hưng Yên", "Văn Lâm, Hưng Yên", "", "hr@mayhungyen.vn"),
    ("0000000000", "", "Hà Nội", "0912 000 000", ""),
]
REGISTRY = [
    ("0800000062", "Doanh nghiệp tư nhân Hưng Thịnh", "inactive", "Thái Bình", "", ""),
    ("0900000073", "Công ty TNHH Nông sản Bắc Giang", "active", "Lục Ngạn, Bắc Giang", "0204 3882 123", ""),
]
# The telephony platform's script: each number answers with these outcomes, in turn.
CALL_SCRIPT = {
    "+84912345678": ["right_person"],
    "+84383456789": ["wrong_person"],
    "+842838251234": ["right_person"],
    "+84905111222": ["no_answer", "busy", "no_answer"],
    "+84903123456": ["right_person"],
    "+842043882123": ["right_person"],
}
# The marketing tool's script: replies to the first e-mail to each address.
REPLIES = {
    "ketoan@anphat.com.vn": "Chào anh/chị, vui lòng gọi cho tôi qua số 0903 123 456 để được tư vấn.",
    "hr@mayhungyen.vn": "Xin dừng gửi email quảng cáo cho chúng tôi.",
}
SUBSCRIBERS = [
    # msisdn, owner, subscription, tier, since, kndl, gender, occupation, hobbies
    ("0901000001", "individual", "prepaid", "standard", "2024-01-10", "no", "", "", ""),
    ("0901000002", "individual", "postpaid", "premium", "2019-05-01", "no", "female", "", ""),
    ("0901000003", "company", "postpaid", "standard", "2020-01-01", "no", "", "", ""),
    ("0901000004", "individual", "prepaid", "standard", "2018-03-03", "yes", "male", "Kỹ sư, kỹ thuật viên", "Nhóm thể thao"),
    ("0901000005", "individual", "test", "standard", "2025-01-01", "no", "", "", ""),
    ("0901000006", "individual", "prepaid", "standard", "2023-06-06", "yes", "", "", ""),
]


def prepare(folder: Path) -> dict[str, str]:
    """Writes the demonstration's files; returns the environment the services need for it."""
    folder.mkdir(parents=True, exist_ok=True)
    _write_csv(folder / "registry.csv", ["tax_code", "company_name", "status", "address", "phones", "emails"], REGISTRY)
    return {"CAREFLOW_REGISTRY_FILE": str(folder / "registry.csv")}


def run_demo(env: dict[str, str], folder: Path, clock_file: Path, console: Console) -> None:
    from shared.operators.imports import CONSENT_COLUMNS, SUBSCRIBER_COLUMNS, consent_fields, import_leads, run_import, subscriber_fields

    bootstrap, prefix = env["KAFKA_BOOTSTRAP_SERVERS"], settings().topic_prefix
    clock = file_clock(str(clock_file))
    sessions = session_factory(settings().database_url)
    publisher = Publisher(bootstrap, "demo", prefix)
    peers = Peers(bootstrap, prefix, publisher, clock)

    console.rule("[bold]Process A — outreach for the social-insurance dossier delivery service")
    _write_csv(folder / "consent.csv", ["contact", "channel", "status", "evidence"],
               [(p, "all", "granted", "ký hợp đồng dịch vụ BHXH điện tử") for p in
                ["0912345678", "0383456789", "02838251234", "0905111222", "0903123456", "02043882123"]]
               + [(e, "email", "granted", "đăng ký nhận tin") for e in
                  ["lienhe@minhan.vn", "ketoan@anphat.com.vn", "info@godongnai.vn", "hr@mayhungyen.vn"]])
    consents = run_import(folder / "consent.csv", "consent-changed", CONSENT_COLUMNS, ("contact", "status"),
                          consent_fields("demo consent.csv", clock), publisher, progress=False)
    # Operators load the consent list before the leads: the segmenter checks it on every request.
    wait_for(lambda: _count(sessions, Consent) >= consents.published, message="the consent list")
    _write_csv(folder / "enterprises.csv", ["Mã số thuế", "Tên doanh nghiệp", "Địa chỉ", "Điện thoại", "Email"], ENTERPRISES)
    summary = import_leads(folder / "enterprises.csv", publisher, progress=False)
    console.print(f"imported {summary.published} enterprises, {summary.rejected} row(s) rejected → {summary.reject_file}")
    expected = summary.published

    def settled() -> bool:
        with sessions() as session:
            done = session.scalar(select(func.count()).select_from(Lead).where(Lead.stage.in_(("supported", "escalated"))))
            waiting = session.scalar(select(func.count()).select_from(Lead).where(Lead.stage == "in_outreach"))
        # A reply the marketing tool sent must be handled before the clock moves past the reply wait.
        return done + waiting >= expected and peers.idle() and _replies_handled(sessions, peers.replied_leads)

    peers.play_until(settled, console, "leads through calls and replies")
    console.print("moving the clock 3 days forward: e-mails without a reply are escalated")
    _advance(clock_file, dt.timedelta(days=3))
    peers.play_until(lambda: _count(sessions, Lead, Lead.stage == "in_outreach") == 0, console, "no-reply escalations")

    console.rule("[bold]Process B — subscriber profile enrichment at the 1090 call centre")
    _write_csv(folder / "subscribers.csv", ["msisdn", "owner_type", "subscription_type", "tier", "subscribed_since",
                                            "kndl_member", "gender", "occupation", "hobbies"], SUBSCRIBERS)
    run_import(folder / "subscribers.csv", "subscriber-upserted", SUBSCRIBER_COLUMNS, ("msisdn",), subscriber_fields,
               publisher, progress=False)
    wait_for(lambda: _count(sessions, Subscriber) >= len(SUBSCRIBERS), message="the subscriber directory")
    vietnam_day = clock().astimezone(dt.timezone(dt.timedelta(hours=7))).replace(hour=10, minute=0, second=0, microsecond=0)
    for index, (msisdn, *_rest) in enumerate(SUBSCRIBERS):
        answered_at = vietnam_day + dt.timedelta(minutes=index) if index != 5 else vietnam_day.replace(hour=23)
        publisher.publish("subscriber-call-answered", call_id=f"demo-call-{index}", msisdn=_e164(msisdn),
                          answered_at=answered_at, call_reason="general", caller_is_user=True,
                          customer_mood="normal", agent_id="DTV-07", channel="call_centre")
    publisher.flush()
    prompts = peers.wait_for("profile-prompted", 2)  # the others are skipped: company, complete, test SIM, 23:00
    console.print(f"the agent was guided on {len(prompts)} call(s); the others were skipped with their reasons")
    outcomes = {"+84901000001": dict(outcome="provided", gender="male", gender_source="agent_assessed",
                                     occupation="Kỹ sư, kỹ thuật viên", hobbies=["Nhóm thể thao", "Nhóm âm nhạc"]),
                "+84901000002": dict(outcome="refused"),
                "+84901000004": dict(outcome="dropped")}
    for prompt in prompts:
        collected = outcomes.get(prompt.msisdn, {"outcome": "refused"})
        publisher.publish("profile-collected", call_id=prompt.call_id, msisdn=prompt.msisdn, channel="call_centre",
                          collected_by="DTV-07", **collected)
    publisher.flush()
    peers.wait_for("subscriber-profile-updated", len(prompts) - 1)

    console.rule("[bold]After-sales care")
    with sessions() as session:
        supported = session.scalars(select(Lead.lead_id).where(Lead.stage == "supported").order_by(Lead.lead_id)).all()
    # A complaint second (8 h SLA): the first case is resolved, the complaint is what the clock breaches.
    kinds = ["consult_service", "complaint", "consult_software", "pickup_urging"]
    for index, lead_id in enumerate(supported):
        publisher.publish("care-requested", request_id=f"demo-care-{index}", customer_id=lead_id,
                          kind=kinds[index % len(kinds)], channel="hotline_1900", text="Yêu cầu hỗ trợ sau bán hàng")
    publisher.flush()
    opened = peers.wait_for("care-case-opened", len(supported))
    if opened:
        # Resolve a consultation, not the complaint whose SLA the clock is about to breach (the order in
        # which cases open across partitions is not the order of the requests).
        first = next((case for case in opened if case.kind != "complaint"), opened[0])
        publisher.publish("care-case-resolved", case_id=first.case_id, customer_id=first.customer_id,
                          outcome="resolved", resolution="Đã hướng dẫn khách hàng")
        publisher.flush()
        wait_for(lambda: _count(sessions, CareCase, CareCase.status == "resolved") >= 1, message="the resolution")
    console.print("moving the clock 10 hours forward: cases past their SLA are escalated")
    _advance(clock_file, dt.timedelta(hours=10))
    wait_for(lambda: _count(sessions, CareCase, CareCase.breaches > 0) >= 1, message="SLA escalations")
    publisher.flush()
    peers.close()


class Peers:
    """The telephony platform and the marketing tool, as scripted for the demonstration."""

    def __init__(self, bootstrap: str, prefix: str, publisher: Publisher, clock: Callable[[], dt.datetime],
                 call_script: dict[str, list[str]] = CALL_SCRIPT, replies: dict[str, str] = REPLIES):
        self.prefix, self.publisher, self.clock, self.replies = prefix, publisher, clock, replies
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"demo-peers-{uuid.uuid4().hex[:6]}",
                                  "isolation.level": "read_committed", "auto.offset.reset": "earliest"})
        self.topics = ["call-requested", "email-requested", "profile-prompted", "subscriber-profile-updated",
                       "care-case-opened"]
        self.consumer.subscribe([prefix + t for t in self.topics])
        self.seen: dict[str, list] = {t: [] for t in self.topics}
        self.script = {number: list(outcomes) for number, outcomes in call_script.items()}
        self.replied: set[str] = set()
        self.replied_leads: set[str] = set()
        self.last_activity = time.monotonic()

    def pump(self) -> None:
        for message in self.consumer.consume(200, timeout=0.3):
            if message.error():
                continue
            event_type = message.topic()[len(self.prefix):]
            event = codec.decode(event_type, message.value())
            self.seen[event_type].append(event)
            self.last_activity = time.monotonic()
            if event_type == "call-requested" and event.subject_type == "lead":
                self._answer_call(event)
            elif event_type == "email-requested":
                self._answer_email(event)
        self.publisher.flush()

    def idle(self) -> bool:
        return time.monotonic() - self.last_activity > 3

    def _answer_call(self, request) -> None:
        outcomes = self.script.get(request.to) or ["invalid_number"]
        disposition = outcomes.pop(0) if len(outcomes) > 1 else outcomes[0]
        self.publisher.publish("call-ended", call_id=f"call-{uuid.uuid4().hex[:8]}", subject_type="lead",
                               subject_id=request.subject_id, number=request.to, direction="outbound",
                               disposition=disposition, agent_id="CSKH-01")

    def _answer_email(self, request) -> None:
        if request.to in self.replies and request.to not in self.replied:
            self.replied.add(request.to)
            self.replied_leads.add(request.lead_id)
            self.publisher.publish("email-replied", lead_id=request.lead_id, from_address=request.to,
                                   text=self.replies[request.to], replied_at=self.clock())

    def play_until(self, condition: Callable[[], bool], console: Console, what: str, timeout: float = 120) -> None:
        with console.status(f"waiting for {what}…"):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                self.pump()
                if condition():
                    return
        raise TimeoutError(f"the demonstration timed out waiting for {what}")

    def wait_for(self, event_type: str, count: int, timeout: float = 60) -> list:
        deadline = time.monotonic() + timeout
        while len(self.seen[event_type]) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the demonstration expected {count} {event_type}, saw {len(self.seen[event_type])}")
            self.pump()
        return self.seen[event_type]

    def close(self) -> None:
        self.consumer.close()


def _write_csv(path: Path, header: list[str], rows: list) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _e164(msisdn: str) -> str:
    return "+84" + msisdn[1:]


def _advance(clock_file: Path, by: dt.timedelta) -> None:
    set_file_clock(clock_file, file_clock(str(clock_file))() + by)


def _replies_handled(sessions, lead_ids: set[str]) -> bool:
    """The replies service has taken each reply: its lead's reply wait is no longer pending."""
    if not lead_ids:
        return True
    return _count(sessions, Deadline, Deadline.deadline_id.in_([reply_wait_id(lead) for lead in lead_ids]),
                  Deadline.cancelled_at.is_(None), Deadline.fired_at.is_(None)) == 0


def _count(sessions, model, *conditions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*conditions))


def wait_for(predicate: Callable[[], bool], timeout: float = 60, message: str = "condition") -> None:
    """Polls until `predicate` holds (the store is read, never slept on blindly); the tests use it too."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise TimeoutError(f"timed out waiting for {message}")
