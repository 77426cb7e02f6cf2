"""The domain package never imports Prefect or BentoML (flows and the service are thin shells)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import fraud_detection


def test_domain_modules_import_neither_prefect_nor_bentoml() -> None:
    modules = [f"fraud_detection.{m.name}" for m in pkgutil.iter_modules(fraud_detection.__path__)]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('prefect', 'bentoml')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert len(modules) >= 12
