"""careflow as a user installs it: the wheel, in a fresh virtual environment outside the
repository, with its contract inside (what docker-compose does too)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

ROUND_TRIP = """
import shared, schemas
from shared.contract import contracts, decode, encode, envelope, build_event
event = build_event("lead-imported", envelope("lead-imported", "wheel-test"), lead_id="mst:0100233488",
                    source="list.csv", row_number=1, tax_code="0100233488")
assert decode("lead-imported", encode("lead-imported", event)) == event
print(shared.__file__, schemas.__file__, len(contracts()))
"""


def test_the_wheel_installed_elsewhere_normalizes_a_list_and_round_trips_an_event(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(ROOT)],
                   check=True, capture_output=True, cwd=tmp_path)
    (wheel,) = dist.glob("careflow-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    installed = subprocess.run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", str(wheel)],
                               capture_output=True, text=True, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr[-2000:]

    listing = tmp_path / "list.csv"
    listing.write_text("Mã số thuế,Tên doanh nghiệp,Địa chỉ,Điện thoại,Email\n"
                       "0100233488,Công ty Minh An,\"12 Tràng Tiền, Hà Nội\",0912 345 678,lienhe@minhan.vn\n",
                       encoding="utf-8")
    out = tmp_path / "out.jsonl"
    run = subprocess.run([venv / "bin" / "careflow", "normalize", str(listing), "--output", str(out)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    (line,) = out.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["province_code"] == "01"

    trip = subprocess.run([venv / "bin" / "python", "-c", ROUND_TRIP], capture_output=True, text=True, cwd=tmp_path)
    assert trip.returncode == 0, trip.stderr[-2000:]
    shared_file, schemas_file, count = trip.stdout.split()
    assert str(venv) in shared_file and str(venv) in schemas_file  # the installed copy, not the repository
    assert int(count) >= 22
