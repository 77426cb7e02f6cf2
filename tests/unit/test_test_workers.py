"""`./run test` relies on pytest-xdist's `--dist loadgroup` keeping a group on one worker (the
container tier builds its images once): a pytest or pytest-xdist upgrade that breaks it fails here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def test_a_group_of_tests_runs_on_one_worker(tmp_path: Path) -> None:
    for name in ("test_a.py", "test_b.py"):
        (tmp_path / name).write_text(
            "import pytest\n\n"
            "@pytest.mark.xdist_group('together')\n"
            "@pytest.mark.parametrize('i', range(4))\n"
            "def test_grouped(i):\n    pass\n"
        )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v", "-p",
         "no:cacheprovider", "-c", "/dev/null", "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    workers = re.findall(r"\[(gw\d+)\] .*PASSED .*test_grouped", result.stdout)
    assert len(workers) == 8, result.stdout[-3000:]
    assert len(set(workers)) == 1, result.stdout[-3000:]
