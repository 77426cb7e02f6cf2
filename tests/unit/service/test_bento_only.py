"""The bento-only import guard the service tests run ``bentoml serve`` under
(tests/support/bento_only): the service imports; what the bento does not install does not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored import ScoredStore
from tests.support.records import EXAMPLE
from tests.support.service import BENTO_ONLY, PROJECT

PROBE = """
import importlib.util, json
import service.service  # the whole service module, as `bentoml serve` loads it
seen = {}
for name in ["sqlalchemy", "prefect", "sklearn", "flows", "fraud_detection_cli", "devstack"]:
    try:
        __import__(name)
        seen[name] = "imported"
    except ModuleNotFoundError:
        seen[name] = "missing" if importlib.util.find_spec(name) is None else "found yet missing"
for name in ["xgboost", "bentoml", "mlflow", "pyarrow"]:
    __import__(name)
    seen[name] = "imported"
print(json.dumps(seen))
"""


def _probe(guarded: bool) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(BENTO_ONLY)}
    env["FRAUD_TEST_BENTO_ONLY"] = "1" if guarded else "0"
    run = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=PROJECT, env=env, capture_output=True, text=True,
        timeout=120, check=True,
    )  # fmt: skip
    seen: dict[str, str] = json.loads(run.stdout.strip().splitlines()[-1])
    return seen


def test_the_guard_hides_what_the_bento_does_not_install_and_keeps_the_service_importable() -> None:
    guarded = _probe(guarded=True)
    assert {guarded[n] for n in ["sqlalchemy", "prefect", "sklearn"]} == {"missing"}
    assert {guarded[n] for n in ["flows", "fraud_detection_cli", "devstack"]} == {"missing"}
    assert {guarded[n] for n in ["xgboost", "bentoml", "mlflow", "pyarrow"]} == {"imported"}
    # The same probe without the guard imports everything: the guard, not the venv, refused.
    assert set(_probe(guarded=False).values()) == {"imported"}


SERVE = """
import sys
from pathlib import Path
import numpy as np
import xgboost as xgb
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.core.bands import RiskBands
from fraud_detection.core.features import FEATURES
from fraud_detection.serving.capture import Capture, CaptureConfig
from fraud_detection.serving.model import LoadedModel, ModelHolder
import json

work, EXAMPLE = Path(sys.argv[1]), json.loads(sys.argv[2])
rng = np.random.default_rng(0)
x = rng.normal(size=(200, len(FEATURES))).astype(np.float32)
booster = xgb.train({"max_depth": 2}, xgb.DMatrix(x, label=(x[:, 0] > 0)), 3)
holder = ModelHolder(RiskBands(0.25, 0.45))
holder.swap(LoadedModel(booster, "7", 0.3, "probe"))
capture = Capture(
    CaptureConfig(spill_dir=work / "spill", writer="probe"),
    ScoredStore(Lake(str(work / "lake"))),
    holder.bands,
)
capture.record(holder.score([EXAMPLE, EXAMPLE]), "/predict")
holder.explain([EXAMPLE], 4)
capture.flush()
capture.send()
print(sorted({m.partition(".")[0] for m in sys.modules} & {"pandas", "sqlalchemy", "sklearn"}))
"""


def test_scoring_explaining_and_capturing_need_nothing_outside_the_bento(tmp_path: Path) -> None:
    """The request path as the image runs it: score, explain, capture to the lake as Parquet."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BENTO_ONLY), str(PROJECT)])}
    run = subprocess.run(
        [sys.executable, "-c", SERVE, str(tmp_path), json.dumps(EXAMPLE)], cwd=PROJECT,
        env={**env, "FRAUD_TEST_BENTO_ONLY": "1"}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().splitlines()[-1] == "[]"  # none of them was even imported
    table = ScoredStore(Lake(str(tmp_path / "lake"))).read()
    assert table.num_rows == 2 and set(table.column("model_version").to_pylist()) == {"7"}
