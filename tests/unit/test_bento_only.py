"""The bento-only import guard the service tests run ``bentoml serve`` under
(tests/support/bento_only): the service imports; what the bento does not install does not."""

from __future__ import annotations

import json
import os
import subprocess
import sys

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
