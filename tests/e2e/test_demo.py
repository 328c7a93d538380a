"""`make run`'s path: `careflow up --demo` starts the broker and every service, plays the demonstration
through both processes, prints where things stand and stops clean — and does it again in the same
working directory, on the broker's and the store's data kept in var/ from the first run."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def test_the_demonstration_runs_twice_in_a_row_on_the_data_it_keeps(tmp_path):
    env = {key: value for key, value in os.environ.items()
           if key not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "CAREFLOW_TOPIC_PREFIX")}
    env["COLUMNS"] = "160"
    for run in (1, 2):
        done = subprocess.run([sys.executable, "-m", "shared.operators.cli", "up", "--demo", "--exit-after-demo"],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"run {run}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        for heading in ("Outreach funnel", "Subscriber profiles", "After-sales care cases", "stopped cleanly"):
            assert heading in done.stdout, f"run {run}"
        assert "BDT-" in done.stdout  # escalations went to provincial post offices
        assert "restarted" not in done.stdout + done.stderr, f"run {run}: a service died"
        # The operator console's address and a login per role, passwords printed once.
        assert "operator console at http://127.0.0.1:8080/" in done.stdout, f"run {run}"
        assert all(f"sign in as {name} /" in done.stdout for name in ("admin", "tct", "bdt01", "cskh", "tongdai", "dpo"))
    # One broker, formatted once, kept under var/ with the store; each run its own namespace.
    assert (tmp_path / "var" / "kafka" / "cluster-id").exists()
    assert len(list((tmp_path / "var" / "demo").iterdir())) == 2
