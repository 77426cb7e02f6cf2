"""``./run demo`` as a user runs it on a fresh clone: it ends with a served prediction, and
nothing it prints (nor the service's log) holds a warning, an error or a traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from devstack.processes import free_port
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored import ScoredStore

pytestmark = pytest.mark.integration
PROJECT = Path(__file__).resolve().parents[2]
# Python's warnings (UserWarning: …), log lines at WARNING or ERROR, tracebacks
ALARMING = re.compile(r"warn|\berror\b|traceback", re.IGNORECASE)


def _alarming(text: str) -> list[str]:
    return [line for line in text.splitlines() if ALARMING.search(line)]


def _the_captured_month_is_audited(data: Path, env: dict[str, str]) -> None:
    """Every application of the month served is in the lake after the stop, with the 3 of the
    first prediction (sent again while it timed out on a loaded machine: each answer is kept),
    and one of them is audited with `fraud-detection scored ID --json`."""
    lake = Lake(str(data / "lake"))
    table = ScoredStore(lake).read(columns=["SK_ID_CURR", "model_version", "endpoint"])
    times = Counter(table["SK_ID_CURR"].to_pylist())
    assert set(lake.read("2025-01")["SK_ID_CURR"]) <= set(times)
    assert set(table["endpoint"].to_pylist()) == {"/predict"}
    assert table.num_rows > 8_000 and (table.num_rows - 8_000) % 3 == 0, table.num_rows
    application = next(a for a, n in times.items() if n == 1)
    version = table["model_version"][table["SK_ID_CURR"].to_pylist().index(application)].as_py()
    audit = subprocess.run(
        [str(Path(sys.executable).parent / "fraud-detection"), "scored", str(application), "--json"],
        capture_output=True, text=True, cwd=PROJECT, env=env, timeout=120,
    )  # fmt: skip
    assert audit.returncode == 0, audit.stderr[-3000:]
    (scoring,) = json.loads(audit.stdout)
    assert scoring["endpoint"] == "/predict" and scoring["model_version"] == version
    assert 0 <= scoring["probability"] <= 1 and scoring["decision"] in {"fraud", "not fraud"}


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
    # in sentences: no library chatter, no progress bar, no raw Python value
    for noise in ("Flow run", "Downloading artifacts", "Detected uv project", "<Verdict", "{'"):
        assert noise not in output, noise
    assert "First champion: version 1." in demo.stdout
    # and it showed the loop: a month served before it was judged, then the monitor
    assert "scored the 8,000 applications of 2025-01 (labels not sent)" in demo.stdout
    assert "monthly retrain 2025-01: judged after its applications were served" in demo.stdout
    # the month's run measured the served model on its labels
    assert "The month's labels matched 8,000 applications" in demo.stdout, demo.stdout[-3000:]
    # on the scores the service captured: every answered record is in the lake after the stop
    assert "records scored from" in demo.stdout, demo.stdout[-3000:]
    _the_captured_month_is_audited(data, env)
    assert _alarming(output) == [], output[-5000:]
    service_log = (data / "service.log").read_text()
    assert "serving fraud-detector version" in service_log
    assert _alarming(service_log) == [], service_log[-3000:]
