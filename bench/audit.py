"""How fast `fraud-detection scored SK_ID_CURR` answers on a month of captured traffic, against
reading the same month into pandas and filtering there.

    .venv/bin/python bench/audit.py [--records 300000] [--batch 1000]

Writes ``--records`` captured records over 30 days (in files of ``--batch`` records, as a
service's flushes would) to a temporary local lake, then times the audit step for applications
scored once, several times and never, over the whole month and over its last week; and the
command end to end in a fresh process. Prints numbers; asserts nothing.
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
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from fraud_detection.adapters.lake import Lake  # noqa: E402
from fraud_detection.adapters.scored import ScoredStore  # noqa: E402
from fraud_detection.core.features import FEATURES  # noqa: E402
from fraud_detection.core.scored import SCORED_COLUMNS, scored_schema  # noqa: E402
from fraud_detection.steps.audit import scorings  # noqa: E402

DAYS = 30
FIRST_ID = 100_000


def _batch(rows: int, ids: np.ndarray, at: datetime, rng: np.random.Generator) -> pa.Table:
    probability = rng.random(rows)
    data = {
        "request_id": np.repeat([uuid.uuid4().hex for _ in range(rows // 10 + 1)], 10)[:rows],
        "scored_at": pa.array([at] * rows, pa.timestamp("us", tz="UTC")),
        "SK_ID_CURR": ids,
        **{name: rng.random(rows, dtype=np.float32) for name in FEATURES},
        "probability": probability,
        "risk_level": np.where(probability > 0.45, "high_risk", "low_risk"),
        "is_fraud": probability >= 0.3,
        "model_version": ["3"] * rows,
        "threshold": [0.3] * rows,
        "endpoint": ["/predict"] * rows,
    }
    return pa.table({name: data[name] for name in SCORED_COLUMNS}).cast(scored_schema())


def _write_month(store: ScoredStore, records: int, batch: int) -> datetime:
    """``records`` over 30 days; every id is scored once except every 100th, scored 3 times."""
    rng = np.random.default_rng(7)
    ids = FIRST_ID + np.arange(records, dtype=np.int64)
    ids[1::100] = ids[::100][: len(ids[1::100])]  # rescored applications
    ids[2::100] = ids[::100][: len(ids[2::100])]
    start = datetime(2025, 3, 1, tzinfo=UTC)
    per_day = records // DAYS
    for offset in range(0, records, batch):
        at = start + timedelta(days=offset // per_day, seconds=offset % per_day)
        store.write(
            _batch(min(batch, records - offset), ids[offset : offset + batch], at, rng), "w"
        )
    return start


def _timed(call: object, repeat: int) -> float:
    """Median ms of ``call()``."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()  # type: ignore[operator]
        times.append(time.perf_counter() - began)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=1_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    store = ScoredStore(Lake(str(workdir / "data" / "lake")))
    began = time.perf_counter()
    start = _write_month(store, args.records, args.batch)
    written = time.perf_counter() - began
    files = sum(1 for _ in Path(store.root).rglob("*.parquet"))
    size = sum(p.stat().st_size for p in Path(store.root).rglob("*.parquet")) / 1e6
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}"
    )
    print(
        f"lake: {args.records:,} records, {DAYS} days, {files} files, {size:.0f} MB "
        f"(written in {written:.1f} s)"
    )

    once, thrice, never = FIRST_ID + 50, FIRST_ID, 1
    assert len(scorings(store, thrice)) == 3 and len(scorings(store, once)) == 1
    last_week = (start + timedelta(days=DAYS - 7)).date()
    cases = {
        "scored once, whole month": lambda: scorings(store, once),
        "scored 3 times, whole month": lambda: scorings(store, thrice),
        "never scored, whole month": lambda: scorings(store, never),
        "scored once, --since last week": lambda: scorings(store, once, since=last_week),
        "pandas: whole month read, then filtered": lambda: (
            store.read().to_pandas().query(f"SK_ID_CURR == {once}")
        ),
    }
    print(f"{'case':42s} {'median ms':>10s}")
    for label, call in cases.items():
        print(f"{label:42s} {_timed(call, repeat=3 if 'pandas' in label else 7):10.0f}")

    env = {**os.environ, "FRAUD_DATA_DIR": str(workdir / "data")}
    command = [
        str(Path(sys.executable).parent / "fraud-detection"),
        "scored",
        str(thrice),
        "--json",
    ]
    runs, cpu = [], []
    for _ in range(3):
        began, before = time.perf_counter(), os.times()
        subprocess.run(command, env=env, capture_output=True, check=True, timeout=300)
        runs.append(time.perf_counter() - began)
        after = os.times()
        cpu.append(
            after.children_user + after.children_system
            - before.children_user - before.children_system
        )  # fmt: skip
    print(
        f"`fraud-detection scored ID --json`, fresh process (median): {statistics.median(runs):.2f}"
        f" s wall, {statistics.median(cpu):.2f} s CPU (imports included)"
    )


if __name__ == "__main__":
    main()
