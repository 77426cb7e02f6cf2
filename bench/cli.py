"""Start-up time of the ``fraud-detection`` command: ``--help``, ``status`` and ``promote``.

    .venv/bin/python bench/cli.py [--repeat 7] [--before /path/to/older/checkout]

Every command runs as a fresh process, as a person would type it, against a small lake and
MLflow store in a temporary directory (seeded and bootstrapped first): the embedded SQLite store,
then the same store behind an ``mlflow server`` (as in production). ``--before`` times an older
checkout's CLI (``python -m fraud_detection.cli``) with the same interpreter and data.
Prints min and median wall seconds; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
COMMANDS = {"--help": ["--help"], "status": ["status"], "promote 1": ["promote", "1"]}
sys.path.insert(0, str(PROJECT))


def _run(entry: list[str], args: list[str], env: dict[str, str], cwd: Path) -> float:
    began = time.perf_counter()
    done = subprocess.run([*entry, *args], env=env, cwd=cwd, capture_output=True, text=True)
    spent = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return spent


def _times(entry: list[str], env: dict[str, str], cwd: Path, repeat: int) -> dict[str, list[float]]:
    for args in COMMANDS.values():  # warm-up: bytecode written, files in the page cache
        _run(entry, args, env, cwd)
    return {
        name: [_run(entry, args, env, cwd) for _ in range(repeat)]
        for name, args in COMMANDS.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--before", type=Path, help="an older checkout to compare with")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FRAUD_", "MLFLOW_", "PREFECT_"))
        and key != "PYTHONDONTWRITEBYTECODE"
    }
    env |= {
        "FRAUD_DATA_DIR": str(workdir / "data"),
        "PREFECT_HOME": str(workdir / "prefect"),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    now = [sys.executable, "-m", "fraud_detection_cli.main"]
    _run(now, ["seed-data", "--months", "2", "--rows-per-month", "2000", "--base-rows", "8000"],
         env, PROJECT)  # fmt: skip
    _run(now, ["bootstrap"], env, PROJECT)
    subjects = {"this checkout": (now, env, PROJECT)}
    if args.before is not None:
        before = args.before.resolve()
        subjects = {
            f"before ({before.name})": (
                [sys.executable, "-m", "fraud_detection.cli"],
                {**env, "PYTHONPATH": str(before)},
                before,
            ),
            **subjects,
        }
    from devstack.servers import MlflowServer

    server = MlflowServer(
        "mlflow", workdir, backend_store_uri=f"sqlite:///{workdir}/data/mlflow.db"
    )
    server.start()
    try:
        print(f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}")
        print(f"{'':<40}" + "".join(f"{name:>22}" for name in COMMANDS))
        for store, extra in (
            ("SQLite", {}),
            ("mlflow server", {"MLFLOW_TRACKING_URI": server.url}),
        ):
            for subject, (entry, subject_env, cwd) in subjects.items():
                times = _times(entry, {**subject_env, **extra}, cwd, args.repeat)
                cells = "".join(
                    f"{f'{min(t):.2f} / {statistics.median(t):.2f} s':>22}" for t in times.values()
                )
                print(f"{f'{subject}, {store}':<40}{cells}")
    finally:
        server.stop()
    print("(min / median wall time of a fresh process)")


if __name__ == "__main__":
    main()
