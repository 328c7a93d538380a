"""Operator inputs as they come, through the installed commands: a BHXH list saved as legacy .xls
and as UTF-16 CSV with `;` and labelled tax codes, and a call file with a reason careflow does not know."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from shared.kafka import ensure_all_topics
from tests.messy import EXPECTED_CODES, write_csv, write_xls
from tests.support import ROOT, TopicReader
from tests.unit.test_profiles import RECORD

pytestmark = pytest.mark.e2e


def _careflow(*args, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shared.operators.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin", **env})


def test_an_xls_list_and_a_utf16_semicolon_csv_with_labelled_tax_codes_import_as_the_same_leads(
        kafka_bootstrap, topic_prefix, tmp_path):
    ensure_all_topics(kafka_bootstrap, 3, topic_prefix)
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "CAREFLOW_TOPIC_PREFIX": topic_prefix}
    lists = [write_xls(tmp_path / "danh-sach.xls"), write_csv(tmp_path / "danh-sach.csv", "UTF-16 LE with BOM", ";")]
    for path in lists:
        run = _careflow("import", str(path), "--quiet", **env)
        assert run.returncode == 0, run.stderr
        assert "rows read: 5 events published: 4 rejected: 1" in " ".join(run.stderr.split())
        assert (tmp_path / f"{path.name}.rejects.csv").read_text(encoding="utf-8").splitlines()[1].startswith(
            "5,tax_code,invalid tax code")
    reader = TopicReader(kafka_bootstrap, topic_prefix + "lead-imported")
    reader.read_until(8, settle=1)
    events = reader.events("lead-imported")
    reader.close()
    expected = sorted(f"mst:{code}" for code in EXPECTED_CODES)
    assert sorted(e.lead_id for e in events if e.source == "danh-sach.xls") == expected
    assert sorted(e.lead_id for e in events if e.source == "danh-sach.csv") == expected
    assert {e.company_name for e in events} >= {"Công ty TNHH Minh An", "Công ty TNHH Kỹ thuật Đà Nẵng"}

    out = tmp_path / "out.jsonl"
    run = _careflow("normalize", str(lists[1]), "--output", str(out))
    assert run.returncode == 0, run.stderr
    assert [json.loads(line).get("tax_code") for line in out.read_text(encoding="utf-8").splitlines()] == [
        *EXPECTED_CODES, None]


def test_a_call_with_a_reason_careflow_does_not_know_is_decided_and_a_bad_line_stops_nothing(tmp_path):
    calls = tmp_path / "calls.jsonl"
    calls.write_text("\n".join([json.dumps({**RECORD, "call_reason": "esim_swap"}), "{broken",
                                json.dumps({**RECORD, "call_id": "c-2"})]) + "\n", encoding="utf-8")
    run = _careflow("eligibility", str(calls))
    assert run.returncode == 1  # one line could not be decided
    out = [json.loads(line) for line in run.stdout.splitlines()]
    assert [(o["line"], o.get("target"), "error" in o) for o in out] == [(1, True, False), (2, None, True),
                                                                         (3, True, False)]
    assert out[0]["skip_reasons"] == [] and "esim_swap" in out[0]["notes"][0]
