"""Operator imports into the real broker, and the offline `careflow normalize`."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from openpyxl import Workbook

from shared.operators.imports import import_leads
from shared.kafka import Publisher, ensure_all_topics
from tests.support import ROOT, TopicReader

pytestmark = pytest.mark.integration
HEADER = ["MST", "Tên đơn vị", "Địa chỉ", "Số điện thoại", "Email", "Mã đơn vị"]
ROWS = [
    ["0100233488", "Công ty TNHH Minh An", "Hoàn Kiếm, Hà Nội", "0166 234 5678", "a@minhan.vn", "HN0001"],
    ["0100233489", "", "Hà Nội", "0912000000", "", ""],                     # bad check digit, no name
    ["", "", "Huế", "0912000001", "", ""],                                  # nothing identifies it
    ["", "Hộ kinh doanh Phúc Lộc", "20 Lê Lợi, TP Huế", "0234 3822 123", "", ""],
    ["0100233488", "Công ty TNHH Minh An", "Hoàn Kiếm, Hà Nội", "", "", ""],  # the same enterprise again
]


def _xlsx(path, rows):
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)


def test_an_excel_list_becomes_one_event_per_readable_row_and_rejects_name_row_field_reason(
        kafka_bootstrap, topic_prefix, tmp_path):
    ensure_all_topics(kafka_bootstrap, 3, topic_prefix)
    path = tmp_path / "danh-sach.xlsx"
    _xlsx(path, [HEADER, *ROWS])
    summary = import_leads(path, Publisher(kafka_bootstrap, "test", topic_prefix), progress=False)
    assert (summary.rows, summary.published, summary.rejected) == (5, 3, 2)
    with open(summary.reject_file, encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle))
    assert [(r["row"], r["field"]) for r in rejects] == [("2", "tax_code"), ("3", "company_name")]
    assert "check digit" in rejects[0]["reason"] and rejects[0]["raw"] == "0100233489"

    reader = TopicReader(kafka_bootstrap, topic_prefix + "lead-imported")
    reader.read_until(3)
    events = reader.events("lead-imported")
    reader.close()
    assert sorted(e.row_number for e in events) == [1, 4, 5]
    ids = {e.row_number: e.lead_id for e in events}
    assert ids[1] == ids[5] == "mst:0100233488"        # re-listed enterprise: one lead
    assert ids[4].startswith("name:46:")                  # no tax code: name + province, never merged on a guess
    assert {e.bhxh_unit_code for e in events} == {"HN0001", None}


def test_normalize_writes_one_report_per_row_with_exactly_the_documented_keys(tmp_path):
    path = tmp_path / "list.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([
            ["tax_code", "company_name", "address", "phones", "emails"],
            ["0314409058-001", "Chi nhánh Sài Gòn Xanh", "45 Lê Lợi, Q1, TP.HCM", "(08) 3825 1234; 0903.111.222; 123",
             "KeToan@SGX.vn; sai@@x"],
            ["", "Hộ Phúc Lộc", "", "1900 54 54 81", ""],
        ])
    out = tmp_path / "out.jsonl"
    run = subprocess.run([sys.executable, "-m", "shared.operators.cli", "normalize", str(path), "--output", str(out)], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    first, second = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert list(first) == ["row", "tax_code", "tax_code_valid", "province_code", "phones", "invalid_phones", "emails",
                           "invalid_emails", "outreach_list"]
    assert first == {"row": 1, "tax_code": "0314409058-001", "tax_code_valid": True, "province_code": "79",
                     "phones": [{"e164": "+842838251234", "type": "landline"}, {"e164": "+84903111222", "type": "mobile"}],
                     "invalid_phones": ["123"], "emails": ["ketoan@sgx.vn"], "invalid_emails": ["sai@@x"],
                     "outreach_list": "callable"}
    assert second["phones"] == [{"e164": "+841900545481", "type": "hotline"}]
    assert (second["row"], second["tax_code"], second["outreach_list"]) == (2, None, "insufficient")
