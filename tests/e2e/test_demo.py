"""`make run`'s path: `careflow up --demo` starts every service, plays the demonstration through
both processes, prints where things stand and stops clean."""

import os
import subprocess
import sys

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.e2e


def test_the_demonstration_runs_through_the_whole_funnel_and_stops_clean(kafka_bootstrap, topic_prefix, tmp_path):
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "CAREFLOW_TOPIC_PREFIX": topic_prefix,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "COLUMNS": "160"}
    run = subprocess.run([sys.executable, "-m", "shared.operators.cli", "up", "--demo", "--exit-after-demo"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=280)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for heading in ("Outreach funnel", "Subscriber profiles", "After-sales care cases", "stopped cleanly"):
        assert heading in run.stdout
    assert "BDT-" in run.stdout  # escalations went to provincial post offices
    # The operator console's address and a login per role, passwords printed once.
    assert "operator console at http://127.0.0.1:8080/" in run.stdout
    assert all(f"sign in as {name} /" in run.stdout for name in ("admin", "tct", "bdt01", "cskh", "tongdai", "dpo"))
