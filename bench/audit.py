"""How the audit (`fraud-detection scored SK_ID_CURR`) and the monitor's window read scale with
the days of captured traffic kept, once closed days are compacted.

    .venv/bin/python bench/audit.py [--days 180] [--per-day 10000] [--flushes 24] [--lake URI]

Writes ``--days`` days of ``--per-day`` captured records each (in ``--flushes`` files a day, as
workers' flushes would) to a temporary local lake (or ``--lake s3://…`` with the FRAUD_S3_*
settings), compacts every day, then times: one application's audit over everything kept, and
the monitor's 7-day window read with all days kept and after the retention leaves 30. Prints
numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
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

from fraud_detection.adapters.compaction import Compactor  # noqa: E402
from fraud_detection.adapters.lake import Lake  # noqa: E402
from fraud_detection.adapters.scored import ScoredStore  # noqa: E402
from fraud_detection.config import get_settings  # noqa: E402
from fraud_detection.core.features import FEATURES  # noqa: E402
from fraud_detection.core.monitoring import Window  # noqa: E402
from fraud_detection.core.scored import SCORED_COLUMNS, scored_schema  # noqa: E402
from fraud_detection.steps.audit import scorings  # noqa: E402
from fraud_detection.steps.monitor import expire_captured, read_window  # noqa: E402

FIRST_ID = 100_000
START = datetime(2025, 1, 1, 12, tzinfo=UTC)


def _batch(ids: np.ndarray, at: datetime, rng: np.random.Generator) -> pa.Table:
    rows = len(ids)
    probability = rng.random(rows)
    data = {
        "request_id": [uuid.uuid4().hex for _ in range(rows)],
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


def _fill(store: ScoredStore, days: int, per_day: int, flushes: int) -> None:
    """Each day's applications are new ids; application FIRST_ID is rescored every 30 days."""
    rng = np.random.default_rng(7)
    size = per_day // flushes
    for day in range(days):
        ids = FIRST_ID + day * per_day + np.arange(per_day, dtype=np.int64)
        if day % 30 == 0:
            ids[0] = FIRST_ID
        for n in range(flushes):
            at = START + timedelta(days=day, seconds=n)
            store.write(_batch(ids[n * size : (n + 1) * size], at, rng), "w")


def _timed(call: object, repeat: int = 5) -> float:
    """Median seconds of ``call()``."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()  # type: ignore[operator]
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--per-day", type=int, default=10_000)
    parser.add_argument("--flushes", type=int, default=24)
    parser.add_argument("--lake", default="")
    args = parser.parse_args()
    settings = get_settings()
    uri = args.lake or str(Path(tempfile.mkdtemp(prefix="bench-audit-")) / "lake")
    lake = Lake(uri, settings.storage_options() if uri.startswith("s3://") else None)
    store = ScoredStore(lake)
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}"
    )

    began = time.perf_counter()
    _fill(store, args.days, args.per_day, args.flushes)
    print(
        f"lake: {args.days} days x {args.per_day:,} records, {args.flushes} files a day, "
        f"written in {time.perf_counter() - began:.0f} s"
    )
    application = FIRST_ID
    uncompacted = _timed(lambda: scorings(store, application), repeat=1)

    compactor = Compactor(
        lake,
        rows_per_file=settings.compaction_rows_per_file,
        row_group_rows=settings.compaction_row_group_rows,
    )
    began = time.perf_counter()
    for day in store.days():
        compactor.compact_day(day)
    print(f"compaction: {args.days} days in {time.perf_counter() - began:.0f} s")

    found = scorings(store, application)
    print(
        f"audit of one application ({len(found)} scorings over {args.days} days kept): "
        f"{_timed(lambda: scorings(store, application)):.3f} s median "
        f"(before compaction: {uncompacted:.3f} s)"
    )

    last = (START + timedelta(days=args.days - 1)).date()
    window = Window.ending(last, 7)
    read = lambda: read_window(store, window, sample_rows=3_000, seed=1)  # noqa: E731
    with_all = _timed(read)
    expire_captured(store, retention_days=30, today=last + timedelta(days=1))
    kept = len(store.days())
    with_30 = _timed(read)
    print(
        f"monitor's 7-day window read: {with_all:.3f} s with {args.days} days kept, "
        f"{with_30:.3f} s with {kept} kept (ratio {with_all / with_30:.2f})"
    )


if __name__ == "__main__":
    main()
