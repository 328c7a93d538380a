"""Operator imports: a file in, one event per row out, rejects to a file beside it."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from shared.domain.leads import RawLead, lead_id, normalize_lead, normalize_report
from shared.domain.provinces import province_from_address
from shared.domain.tax_codes import normalize_tax_code
from shared.kafka import Publisher
from shared.operators.tabular import Reject, RejectFile, read_rows

LEAD_COLUMNS: dict[str, tuple[str, ...]] = {
    "tax_code": ("mst", "mã số thuế", "ma so thue", "tax code", "mã số doanh nghiệp"),
    "company_name": ("tên doanh nghiệp", "tên đơn vị", "ten don vi", "tên công ty", "company", "name"),
    "address": ("địa chỉ", "dia chi", "địa chỉ trụ sở"),
    "phones": ("điện thoại", "số điện thoại", "sđt", "sdt", "phone", "dien thoai"),
    "emails": ("email", "e-mail", "thư điện tử", "mail"),
    "bhxh_unit_code": ("mã đơn vị", "mã đơn vị bhxh", "ma don vi", "unit code"),
}
# A lead needs one of them to be identified; every other column may be absent.
LEAD_REQUIRED = ("tax_code", "company_name")


@dataclass
class ImportSummary:
    rows: int = 0
    published: int = 0
    rejected: int = 0
    reject_file: Path | None = None


class RowRejected(ValueError):
    def __init__(self, field_name: str, reason: str, raw: str | None):
        super().__init__(reason)
        self.field_name, self.reason, self.raw = field_name, reason, raw or ""


RowToEvent = Callable[[int, dict[str, str | None]], dict]


def run_import(path: Path, event_type: str, columns: Mapping[str, tuple[str, ...]], required: tuple[str, ...],
               row_to_fields: RowToEvent, publisher: Publisher, overrides: Mapping[str, str] | None = None,
               progress: bool = True, suppressed: Callable[[dict], bool] | None = None) -> ImportSummary:
    """Publishes one `event_type` per readable row; unreadable ones go to `<file>.rejects.csv`, and so
    do rows about an erased person (`suppressed`), without their values."""
    summary = ImportSummary()
    rejects = RejectFile(path.with_name(path.name + ".rejects.csv"))
    try:
        for number, row in read_rows(path, columns, required, overrides, progress):
            summary.rows += 1
            try:
                fields = row_to_fields(number, row)
            except RowRejected as exc:
                rejects.add(Reject(number, exc.field_name, exc.reason, exc.raw))
                continue
            if suppressed is not None and suppressed(fields):
                rejects.add(Reject(number, "row", "a person erased on request (suppressed): not imported", ""))
                continue
            publisher.publish(event_type, **fields)
            summary.published += 1
        publisher.flush()
    finally:
        rejects.close()
    summary.rejected = rejects.count
    summary.reject_file = rejects.path if rejects.count else None
    return summary


def lead_fields(source: str) -> RowToEvent:
    def to_fields(number: int, row: dict[str, str | None]) -> dict:
        tax_code, valid = normalize_tax_code(row.get("tax_code"))
        name = row.get("company_name")
        if not valid and not name:
            if row.get("tax_code"):
                raise RowRejected("tax_code", "invalid tax code (check digit) and no company name to identify the enterprise",
                                  row.get("tax_code"))
            raise RowRejected("company_name", "neither a tax code nor a company name", None)
        province = None if valid else province_from_address(row.get("address"))
        return {"lead_id": lead_id(tax_code, valid, name, province), "source": source, "row_number": number,
                "tax_code": row.get("tax_code"), "company_name": name, "address": row.get("address"),
                "phones": row.get("phones"), "emails": row.get("emails"), "bhxh_unit_code": row.get("bhxh_unit_code")}
    return to_fields


def import_leads(path: Path, publisher: Publisher, overrides: Mapping[str, str] | None = None,
                 progress: bool = True, suppressed: Callable[[dict], bool] | None = None) -> ImportSummary:
    return run_import(path, "lead-imported", LEAD_COLUMNS, LEAD_REQUIRED,
                      lead_fields(path.name), publisher, overrides, progress, suppressed)


def normalize_file(path: Path, out: TextIO, overrides: Mapping[str, str] | None = None) -> Counter:
    """`careflow normalize`: one JSON line per data row — the normalization report, or the reason
    `careflow import` would reject the row — and the counts per kind of mess."""
    counts: Counter = Counter()
    to_fields = lead_fields(path.name)
    for number, row in read_rows(path, LEAD_COLUMNS, LEAD_REQUIRED, overrides, progress=False):
        counts["rows read"] += 1
        try:
            to_fields(number, row)
        except RowRejected as exc:
            out.write(json.dumps({"row": number, "error": f"{exc.field_name}: {exc.reason}", "raw": exc.raw},
                                 ensure_ascii=False) + "\n")
            counts[f"rejected: {exc.reason}"] += 1
            continue
        lead = normalize_lead(RawLead(row.get("tax_code"), row.get("company_name"), row.get("address"),
                                      row.get("phones"), row.get("emails")))
        out.write(json.dumps(normalize_report(number, lead), ensure_ascii=False) + "\n")
        counts["normalized"] += 1
        counts["tax code: " + ("valid" if lead.tax_code_valid else "invalid" if lead.tax_code else "none")] += 1
        if row.get("tax_code") and lead.tax_code_valid and row["tax_code"].strip() != lead.tax_code:
            counts["tax code: valid once cleaned (label, separators, apostrophe, lost zero)"] += 1
        counts["province: " + ("found" if lead.province_code else "unknown")] += 1
        counts["rows with an invalid phone"] += bool(lead.invalid_phones)
        counts["rows with an invalid e-mail"] += bool(lead.invalid_emails)
        counts[f"list: {lead.outreach_list.value}"] += 1
    return counts


def parse_date(text: str | None, field_name: str) -> dt.date:
    try:
        return dt.date.fromisoformat((text or "").strip())
    except ValueError:
        raise RowRejected(field_name, "expected a date as YYYY-MM-DD", text) from None


def parse_bool(text: str | None, field_name: str) -> bool:
    value = (text or "").strip().lower()
    if value in ("1", "true", "yes", "y", "có", "co", "x"):
        return True
    if value in ("", "0", "false", "no", "n", "không", "khong"):
        return False
    raise RowRejected(field_name, "expected yes/no (true/false, 1/0, có/không)", text)


def parse_choice(text: str | None, field_name: str, choices: tuple[str, ...]) -> str:
    value = (text or "").strip().lower()
    if value not in choices:
        raise RowRejected(field_name, f"expected one of {', '.join(choices)}", text)
    return value


CONSENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "contact": ("số điện thoại", "phone", "email", "msisdn", "liên hệ"),
    "channel": ("kênh",), "status": ("trạng thái",), "evidence": ("bằng chứng", "note"),
    "changed_at": ("thời điểm", "time", "date"),
    "agreed_hours": ("giờ đồng ý", "khung giờ", "khung giờ liên hệ", "thời gian liên hệ", "hours"),
}


def consent_fields(source: str, now: Callable[[], dt.datetime]) -> RowToEvent:
    from shared.domain.emails import split_emails
    from shared.domain.phones import normalize_phone

    def to_fields(number: int, row: dict[str, str | None]) -> dict:
        raw = row.get("contact")
        emails, _ = split_emails(raw) if raw and "@" in raw else ([], [])
        phone = None if emails else normalize_phone(raw or "")
        if not emails and phone is None:
            raise RowRejected("contact", "neither a valid phone number nor a valid e-mail address", raw)
        changed_at = now()
        if row.get("changed_at"):
            try:
                changed_at = dt.datetime.fromisoformat(row["changed_at"])
            except ValueError:
                raise RowRejected("changed_at", "expected an ISO 8601 time", row["changed_at"]) from None
            if changed_at.tzinfo is None:
                raise RowRejected("changed_at", "the time needs its offset, e.g. +07:00", row["changed_at"])
        return {"contact": emails[0] if emails else phone.e164, "contact_kind": "email" if emails else "phone",
                "channel": parse_choice(row.get("channel") or "all", "channel", ("sms", "email", "call", "all")),
                "status": parse_choice(row.get("status"), "status",
                                       ("granted", "withdrawn", "dnc_listed", "dnc_removed", "erased")),
                "source": source, "evidence": row.get("evidence"), "changed_at": changed_at,
                "agreed_hours": _agreed_hours(row.get("agreed_hours"))}
    return to_fields


def _agreed_hours(text: str | None) -> str | None:
    from shared.domain.contact_rules import format_hours, parse_agreed_hours

    try:
        hours = parse_agreed_hours(text)
    except ValueError as exc:
        raise RowRejected("agreed_hours", str(exc), text) from None
    return None if hours is None else format_hours(hours)


SUBSCRIBER_COLUMNS: dict[str, tuple[str, ...]] = {
    "msisdn": ("số thuê bao", "thuê bao", "phone"), "owner_type": ("loại chủ",), "subscription_type": ("loại thuê bao",),
    "tier": ("hạng",), "subscribed_since": ("ngày hòa mạng", "activation date"), "kndl_member": ("kndl",),
    "gender": ("giới tính",), "occupation": ("nghề nghiệp",), "hobbies": ("sở thích",),
    # Where the CRM's values came from (declared, agent_assessed, refusal_default); one column for all
    # three fields, or one per field. Absent, blank or unknown: null, so an old default never looks like an answer.
    "provenance": ("nguồn", "nguồn thông tin"),
    "gender_provenance": ("nguồn giới tính",), "occupation_provenance": ("nguồn nghề nghiệp",),
    "hobbies_provenance": ("nguồn sở thích",),
}


def subscriber_fields(number: int, row: dict[str, str | None]) -> dict:
    from shared.domain.phones import PhoneType, normalize_phone
    from shared.domain.profiles import provenance_of, tier_of

    def provenance(name: str, value) -> str | None:
        found = provenance_of(row.get(f"{name}_provenance") or row.get("provenance"))
        return found.value if value and found else None

    phone = normalize_phone(row.get("msisdn") or "")
    if phone is None or phone.type is not PhoneType.MOBILE:
        raise RowRejected("msisdn", "not a valid Vietnamese mobile number", row.get("msisdn"))
    hobbies = [h.strip() for h in (row.get("hobbies") or "").split(";") if h.strip()]
    return {
        "msisdn": phone.e164,
        "owner_type": parse_choice(row.get("owner_type"), "owner_type", ("individual", "company", "organization")),
        "subscription_type": parse_choice(row.get("subscription_type"), "subscription_type",
                                          ("prepaid", "postpaid", "service", "test")),
        "tier": tier_of(row.get("tier")).value,  # a tier careflow does not know is standard
        "subscribed_since": parse_date(row.get("subscribed_since"), "subscribed_since"),
        "kndl_member": parse_bool(row.get("kndl_member"), "kndl_member"),
        "gender": row.get("gender"), "gender_provenance": provenance("gender", row.get("gender")),
        "occupation": row.get("occupation"), "occupation_provenance": provenance("occupation", row.get("occupation")),
        "hobbies": hobbies, "hobbies_provenance": provenance("hobbies", hobbies),
    }
