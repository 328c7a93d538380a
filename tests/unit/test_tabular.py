"""Operator files as they come: every encoding × separator, legacy .xls, Excel's numbers."""

from __future__ import annotations

import json

import pytest

from shared.domain.tax_codes import normalize_tax_code
from shared.operators.imports import LEAD_COLUMNS, LEAD_REQUIRED, normalize_file
from shared.operators.tabular import detect_delimiter, detect_encoding, read_rows
from tests.messy import DELIMITERS, ENCODINGS, EXPECTED_CODES, HEADER, ROWS, write_csv, write_xls


@pytest.mark.parametrize("delimiter", DELIMITERS)
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_encoding_and_separator_reads_the_same_rows(tmp_path, encoding, delimiter):
    path = write_csv(tmp_path / "list.csv", encoding, DELIMITERS[delimiter])
    rows = list(read_rows(path, LEAD_COLUMNS, LEAD_REQUIRED))
    assert [number for number, _ in rows] == [1, 2, 3, 4, 5]
    assert [row["company_name"] for _, row in rows] == [r[1] or None for r in ROWS]  # NFC, whatever the encoding
    assert rows[0][1]["address"] == "12 Tràng Tiền, Hoàn Kiếm, Hà Nội"
    assert [normalize_tax_code(row["tax_code"]) for _, row in rows[:4]] == [(c, True) for c in EXPECTED_CODES]


def test_a_legacy_xls_reads_like_the_csv_and_a_number_keeps_its_digits(tmp_path):
    rows = list(read_rows(write_xls(tmp_path / "list.xls"), LEAD_COLUMNS, LEAD_REQUIRED))
    assert rows[2][1]["tax_code"] == "300000018"  # not 300000018.0
    assert [normalize_tax_code(row["tax_code"]) for _, row in rows[:4]] == [(c, True) for c in EXPECTED_CODES]
    assert rows[0][1]["company_name"] == "Công ty TNHH Minh An"


@pytest.mark.parametrize("sample, encoding", [
    (b"\xef\xbb\xbfa,b", "utf-8-sig"), (b"\xff\xfea\x00", "utf-16"), (b"\xfe\xff\x00a", "utf-16"),
    ("Mã số".encode(), "utf-8"), ("Mã số thuế".encode()[:-1], "utf-8"),  # a character cut by the sample's end
])
def test_encoding_by_bom_or_utf8(sample, encoding):
    assert detect_encoding(sample) == encoding


@pytest.mark.parametrize("line, delimiter", [
    ("a,b,c", ","), ("a;b;c", ";"), ("a\tb\tc", "\t"), ("Tên, họ;Địa chỉ;SĐT", ";"), ("one column", ","),
])
def test_the_separator_is_the_one_the_header_uses_most(line, delimiter):
    assert detect_delimiter(line) == delimiter


def test_normalize_gives_one_line_per_row_rejects_included_and_counts_the_mess(tmp_path):
    path = write_csv(tmp_path / "list.csv", "UTF-16 LE with BOM", ";")
    out = tmp_path / "out.jsonl"
    with open(out, "w", encoding="utf-8") as handle:
        counts = normalize_file(path, handle)
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["row"] for line in lines] == [1, 2, 3, 4, 5]
    assert [line.get("tax_code") for line in lines[:4]] == EXPECTED_CODES
    assert lines[4]["error"].startswith("tax_code: invalid tax code")
    assert counts["rows read"] == 5 and counts["normalized"] == 4
    assert counts["tax code: valid once cleaned (label, separators, apostrophe, lost zero)"] == 4


def test_normalize_maps_headers_with_map_as_import_does(tmp_path):
    path = write_csv(tmp_path / "list.csv", "utf-8", ",", header=["Số hiệu DN", *HEADER[1:]])
    out = tmp_path / "out.jsonl"
    with open(out, "w", encoding="utf-8") as handle:
        counts = normalize_file(path, handle, {"Số hiệu DN": "tax_code"})
    assert counts["tax code: valid"] == 4
