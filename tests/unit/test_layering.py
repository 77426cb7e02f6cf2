"""The layering of pyproject.toml's import-linter contracts holds, and would catch an import of a
shell from inside a domain function (not only at the top of a module)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("fraud_detection", "flows", "service", "cli", "devstack")


def _lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=project,
        env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_project_keeps_its_layers() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_shell_imported_inside_a_domain_function_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "flows" / "retrain.py").write_text("")
    step = tmp_path / "fraud_detection" / "steps.py"
    step.write_text("def run() -> None:\n    from fraud_detection import config\n")
    (tmp_path / "fraud_detection" / "config.py").write_text("")
    assert _lint_imports(tmp_path).returncode == 0

    step.write_text("def run() -> None:\n    from flows import retrain\n")
    broken = _lint_imports(tmp_path)
    assert broken.returncode != 0
    assert "fraud_detection.steps -> flows.retrain" in broken.stdout
