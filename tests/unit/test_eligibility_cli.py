"""`careflow eligibility`: one output line per input line, errors in place, never stopping early."""

from __future__ import annotations

import json

from shared.operators.cli import main
from tests.unit.test_profiles import RECORD


def test_one_output_line_per_input_line_with_errors_in_their_line(tmp_path, capsys):
    lines = [json.dumps(RECORD), "{not json", "", json.dumps({**RECORD, "call_reason": "esim_swap", "call_id": "c-43"}),
             json.dumps({**RECORD, "owner_type": "household"}), json.dumps([RECORD]), json.dumps({**RECORD, "call_id": "c-44"})]
    path = tmp_path / "calls.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n\xff\xfe garbage\n")
    assert main(["eligibility", str(path)]) == 1
    captured = capsys.readouterr()
    out = [json.loads(line) for line in captured.out.splitlines()]
    assert [o["line"] for o in out] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [("error" in o) for o in out] == [False, True, True, False, True, True, False, True]
    assert out[2]["error"] == "empty line"
    assert out[3]["target"] is True and out[3]["notes"] == [
        "call_reason 'esim_swap' is not one careflow knows: read as other"]
    assert out[4]["error"].startswith("owner_type: expected one of")
    assert out[6]["call_id"] == "c-44"
    assert captured.err.strip() == "lines: 8, decided: 3, errors: 5"
