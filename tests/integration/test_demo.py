"""``./run demo`` as a user runs it on a fresh clone: it ends with a served prediction, and
nothing it prints (nor the service's log) holds a warning, an error or a traceback."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from devstack.processes import free_port

pytestmark = pytest.mark.integration
PROJECT = Path(__file__).resolve().parents[2]
# Python's warnings (UserWarning: …), log lines at WARNING or ERROR, tracebacks
ALARMING = re.compile(r"warn|\berror\b|traceback", re.IGNORECASE)


def _alarming(text: str) -> list[str]:
    return [line for line in text.splitlines() if ALARMING.search(line)]


def test_the_demo_on_a_fresh_clone_prints_no_warning_and_no_traceback(tmp_path: Path) -> None:
    # Given a data folder that does not exist yet, as in a fresh clone (./run puts Prefect's
    # home in data/prefect), and none of the tests' quieting of Prefect, MLflow or BentoML
    data = tmp_path / "data"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FRAUD_", "MLFLOW_", "PREFECT_", "BENTOML_", "AWS_"))
        and k != "DO_NOT_TRACK"
    }
    env.update({"FRAUD_DATA_DIR": str(data), "PREFECT_HOME": str(data / "prefect")})
    # When the demo runs one monthly retrain
    demo = subprocess.run(
        [str(PROJECT / "run"), "demo", "--months", "1", "--port", str(free_port())],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env=env,
        timeout=600,
    )
    output = demo.stdout + demo.stderr
    # Then it ends with a prediction served by the champion, and says nothing alarming
    assert demo.returncode == 0, output[-5000:]
    assert '"model_version"' in demo.stdout and "champion: fraud-detector version" in demo.stdout
    assert "Flow run" in output  # Prefect's own log lines are shown, not silenced
    # and it showed the loop: a month served before it was judged, then the monitor
    assert "scored the 8,000 applications of 2025-01 (labels not sent)" in demo.stdout
    assert "monthly retrain 2025-01: judged after its applications were served" in demo.stdout
    assert "'live_matched':" in demo.stdout  # the month's run measured the served model
    # (no traffic to report until the service captures its scores; then the records it kept)
    assert re.search(r"No traffic from|records scored from", demo.stdout), demo.stdout[-3000:]
    assert _alarming(output) == [], output[-5000:]
    service_log = (data / "service.log").read_text()
    assert "serving fraud-detector version" in service_log
    assert _alarming(service_log) == [], service_log[-3000:]
