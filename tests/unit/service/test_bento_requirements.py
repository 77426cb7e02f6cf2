"""The bento's requirements are uv.lock's pins, exported (``./run bento-requirements``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
REQUIREMENTS = ROOT / "deployments" / "bento-requirements.txt"


def _pins(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_the_bento_installs_exactly_the_locked_versions() -> None:
    exported = subprocess.run(
        [str(Path(sys.executable).parent / "uv"), "export", "--frozen", "--only-group", "bento",
         "--no-hashes", "--no-emit-project", "--no-annotate", "--quiet"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    assert _pins(REQUIREMENTS.read_text()) == _pins(exported.stdout), (
        "deployments/bento-requirements.txt is out of date: run ./run bento-requirements"
    )
    bentofile = yaml.safe_load((ROOT / "bentofile.yaml").read_text())
    assert bentofile["python"] == {"requirements_txt": "deployments/bento-requirements.txt"}
    pins = dict(line.split(" ;")[0].split("==") for line in _pins(REQUIREMENTS.read_text()))
    assert {"bentoml", "xgboost-cpu", "mlflow-skinny"} <= pins.keys()
    assert "mlflow" not in pins and "scikit-learn" not in pins  # the client only
