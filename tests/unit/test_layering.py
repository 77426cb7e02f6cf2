"""The import-linter contracts of pyproject.toml hold, and would catch an import upward across
the domain's layers, a shell imported inside a domain function, or an import cycle: each
scratch change is made on a copy of the real packages and must fail `lint-imports`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("fraud_detection", "flows", "service", "fraud_detection_cli", "devstack")


def _lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=project,
        env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project's packages and its contracts."""
    project = tmp_path_factory.mktemp("layers")
    shutil.copy(ROOT / "pyproject.toml", project / "pyproject.toml")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, project / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return project


def test_the_project_keeps_its_layers() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        (  # the pure core reaching up into a step
            "fraud_detection/core/scratch.py",
            "from fraud_detection.steps import intake\n",
            "fraud_detection.core.scratch -> fraud_detection.steps.intake",
        ),
        (  # an adapter importing a step, inside a function
            "fraud_detection/adapters/scratch.py",
            "def run() -> None:\n    from fraud_detection.steps import pool\n",
            "fraud_detection.adapters.scratch -> fraud_detection.steps.pool",
        ),
        (  # a shell imported inside a domain function
            "fraud_detection/steps/scratch.py",
            "def run() -> None:\n    from flows import retrain\n",
            "fraud_detection.steps.scratch -> flows.retrain",
        ),
        (  # a cycle between two modules of the core
            "fraud_detection/core/bands.py",
            "from fraud_detection.core.scratch_cycle import X\n",
            "No cycles are allowed in fraud_detection.core",
        ),
    ],
)
def test_a_scratch_change_in_the_wrong_direction_breaks_a_contract(
    scratch: Path, module: str, source: str, broken: str
) -> None:
    target = scratch / module
    original = target.read_text() if target.exists() else None
    cycle = scratch / "fraud_detection/core/scratch_cycle.py"
    cycle.write_text("X = 1\n\n\ndef f() -> None:\n    from fraud_detection.core import bands\n")
    try:
        target.write_text((original or "") + source)
        result = _lint_imports(scratch)
        assert result.returncode != 0, result.stdout
        assert broken in result.stdout, result.stdout
    finally:
        cycle.unlink()
        if original is None:
            target.unlink()
        else:
            target.write_text(original)
    assert _lint_imports(scratch).returncode == 0
