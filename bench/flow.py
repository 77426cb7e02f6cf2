"""Wall time of one monthly retrain on a ~100k-row pool, split into where the time goes.

    .venv/bin/python bench/flow.py [--base-rows 80000] [--rows-per-month 16000]
    .venv/bin/python bench/flow.py --pool-rows 2000000   # memory: a pool of that many rows

With ``--pool-rows N`` the lake (base sized so that the measured month's pool holds N rows), the
first champion and the warm-up month are made by another process first, so the measured process
does only the monthly run; it ends with one machine-readable line
``pool_rows=N wall_s=… peak_rss_mb=… baseline_rss_mb=…`` (baseline: the process's resident set
just before the flow starts; peak: its high-water mark).

With ``--history-months M`` it measures instead what a longer history costs the pool alone: a
lake of M months (every earlier month counted as decided), then ``pool.gather`` and the
challenger's training for the newest month, timed, at the history floor of the settings
(``FRAUD_HISTORY_FLOOR``); it ends with
``history_months=M floor=F partitions=K pool_rows=N wall_s=…``.

Categories: training and evaluation compute (XGBoost fit, scoring, metrics, bootstrap),
MLflow (logging runs, models, figures; registry calls; model loads), lake I/O + validation, and
Prefect (everything else inside the flow run: task orchestration, state and artifact API calls).
Prints numbers; asserts nothing. Uses embedded defaults in a temporary directory.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

SPENT: dict[str, float] = defaultdict(float)
PEAK_MB: dict[str, float] = defaultdict(float)  # the resident set's high point in each category
ACTIVE: list[str] = []  # the categories running now, innermost last
REST = "prefect + pandas glue (rest)"  # what no instrumented call covers


def _timed(category: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        ACTIVE.append(category)
        try:
            return function(*args, **kwargs)
        finally:
            ACTIVE.pop()
            SPENT[category] += time.perf_counter() - start

    return wrapper


def _sample_rss(stop: threading.Event) -> None:
    """Every 20 ms: the resident set, charged to the category running (or "rest")."""
    while not stop.wait(0.02):
        category = ACTIVE[-1] if ACTIVE else REST
        PEAK_MB[category] = max(PEAK_MB[category], _rss_mb())


def _instrument() -> None:
    from fraud_detection.adapters.registry import Registry
    from fraud_detection.core import alarm, evaluation, gate, plots, training
    from fraud_detection.steps import challengers, intake, judging, pool

    challengers.train_parts = _timed("compute: train", training.train_parts)
    challengers.refit_parts = _timed("compute: train", training.refit_parts)
    judging.predict_proba = _timed("compute: evaluate", evaluation.predict_proba)
    judging.metrics_at = _timed("compute: evaluate", evaluation.metrics_at)
    judging.paired_bootstrap = _timed("compute: evaluate", evaluation.paired_bootstrap)
    judging.decide = _timed("compute: evaluate", gate.decide)
    judging.data_alarm = _timed("compute: evaluate", alarm.data_alarm)
    for name in ("feature_importance", "pr_curves", "confusion"):
        setattr(plots, name, _timed("compute: plots", getattr(plots, name)))
    for name in (
        "log_model_run",
        "register_version",
        "log_to_run",
        "load_booster",
        "versions",
        "alias",
        "set_tags",
        "set_challenger",
        "promote",
        "version",
    ):
        setattr(Registry, name, _timed("mlflow", getattr(Registry, name)))
    # The month's fetch and validation, and gather's streaming pass over the earlier months;
    # the earlier months' reads while the matrix is built count as training.
    intake.fetch = _timed("lake I/O + validation", intake.fetch)
    intake.validate = _timed("lake I/O + validation", intake.validate)
    pool.fetch = intake.fetch
    pool.validate_streamed = _timed("lake I/O + validation", intake.validate_streamed)


def _without_heartbeat_wait() -> None:
    """Prefect ends every flow run by joining its heartbeat thread, which sleeps in 1 s steps:
    the run's wall time is rounded up to the next heartbeat second, whatever the flow did. That
    wait (the same for any flow) is left out unless --with-heartbeat-wait."""
    import contextlib

    from prefect import flow_engine

    flow_engine._send_heartbeats = lambda engine, join_on_exit=True: contextlib.nullcontext()


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _set_up(workdir: str, base_rows: int, rows_per_month: int) -> None:
    """The lake, the first champion and the warm-up month (2025-01), in this process."""
    _environment(workdir)
    from prefect.testing.utilities import prefect_test_harness

    from flows.retrain import monthly_retrain
    from fraud_detection.adapters.lake import Lake
    from fraud_detection.adapters.partition_files import decode_chunks
    from fraud_detection.adapters.stores import open_registry
    from fraud_detection.config import Settings
    from fraud_detection.core.features import validate_frame
    from fraud_detection.sources.synthetic import generate_lake_partitions
    from fraud_detection.steps import first_champion, intake

    settings = Settings()
    lake = Lake.from_settings(settings)
    large = base_rows > BASE_CHUNK_ROWS
    for part in generate_lake_partitions(
        months=2,
        rows_per_month=rows_per_month,
        base_rows=BASE_CHUNK_ROWS if large else base_rows,
        seed=settings.seed,
    ):
        if part.name == "base" and large:
            _write_large_base(settings.data_dir / "lake" / "base", base_rows, settings.seed)
        else:
            lake.write(part.name, part.frame, part.truth)
    base = intake.fetch(lake, "base")
    # A large base is validated and trained on in part: the first champion is not measured,
    # and fitting it on the whole base would hold it as a frame.
    sample = next(decode_chunks(base.ref, base.raw, BASE_CHUNK_ROWS))
    first_champion.bootstrap_champion(
        open_registry(settings), settings, base, validate_frame(sample, source="base")
    )
    with prefect_test_harness(server_startup_timeout=600):
        monthly_retrain(month="2025-01")


BASE_CHUNK_ROWS = 1_000_000  # a larger base is generated and written this many rows at a time


def _write_large_base(folder: Path, rows: int, seed: int) -> None:
    """The base as one Parquet file written chunk by chunk (the lake's own ``write`` takes a
    frame); each chunk is the generator's base month under its own seed, ids following on."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fraud_detection.sources.synthetic import generate

    folder.mkdir(parents=True, exist_ok=True)
    writer = None
    for index, start in enumerate(range(0, rows, BASE_CHUNK_ROWS)):
        size = min(BASE_CHUNK_ROWS, rows - start)
        frame, _ = generate(size, month_index=0, seed=seed + index, id_start=100_000 + start)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(
                folder / "applications.parquet", table.schema, compression="zstd"
            )
        writer.write_table(table)
    assert writer is not None
    writer.close()


def _history_cost(months: int, rows_per_month: int, base_rows: int) -> None:
    """gather + train for the newest of ``months`` months, every earlier one decided."""
    workdir = tempfile.mkdtemp(prefix="bench-history-")
    _environment(workdir)
    from fraud_detection.adapters.lake import Lake
    from fraud_detection.config import Settings
    from fraud_detection.core.dataset import stable_seed
    from fraud_detection.core.training import train_parts
    from fraud_detection.sources.synthetic import generate_lake_partitions
    from fraud_detection.steps import intake, pool

    settings = Settings()
    lake = Lake.from_settings(settings)
    names = []
    for part in generate_lake_partitions(
        months=months, rows_per_month=rows_per_month, base_rows=base_rows, seed=settings.seed
    ):
        lake.write(part.name, part.frame)
        names.append(part.name)
    month = names[-1]

    class EveryEarlierMonthDecided:
        def decided_months(self) -> set[str]:
            return set(names[1:-1])

    start = time.perf_counter()
    data = intake.fetch(lake, month)
    split = intake.split(settings, month, intake.validate(data))
    inputs = pool.gather(
        lake, EveryEarlierMonthDecided(), data, split, floor=pool.HistoryFloor.of(settings)
    )  # type: ignore[arg-type]
    seed = stable_seed(settings.seed, month)
    trained = train_parts(inputs.parts, settings.xgb, settings.training_plan(), seed=seed)
    wall = time.perf_counter() - start
    print(
        f"history_months={months} floor={settings.history_floor:g} "
        f"partitions={len(inputs.parts)} pool_rows={trained.rows['pool_rows']} wall_s={wall:.2f}"
    )


def _environment(workdir: str) -> None:
    os.environ.update(
        {
            "FRAUD_DATA_DIR": f"{workdir}/data",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "PREFECT_HOME": f"{workdir}/prefect",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-rows", type=int, default=80_000)
    parser.add_argument("--rows-per-month", type=int, default=16_000)
    parser.add_argument("--pool-rows", type=int, help="size the base so the pool has N rows")
    parser.add_argument(
        "--history-months", type=int, help="measure gather + train on a history of M months"
    )
    parser.add_argument("--set-up", metavar="DIR", help=argparse.SUPPRESS)  # the writer process
    parser.add_argument("--profile", help="write cProfile stats of the measured run to this file")
    parser.add_argument(
        "--with-heartbeat-wait",
        action="store_true",
        help="keep Prefect's wait for its heartbeat thread at the end of the run (up to 1 s)",
    )
    args = parser.parse_args()
    if args.history_months:
        _history_cost(args.history_months, args.rows_per_month, args.base_rows)
        return
    if args.set_up:
        _set_up(args.set_up, args.base_rows, args.rows_per_month)
        return
    holdout_share = 0.5  # Settings().holdout_fraction, read before any project import
    if args.pool_rows:
        month_rows = args.rows_per_month + int(args.rows_per_month * (1 - holdout_share))
        args.base_rows = args.pool_rows - month_rows
    workdir = tempfile.mkdtemp(prefix="bench-flow-")
    if args.pool_rows:
        setup = [sys.executable, __file__, "--set-up", workdir, "--base-rows", str(args.base_rows)]
        setup += ["--rows-per-month", str(args.rows_per_month)]
        subprocess.run(setup, check=True)
    _environment(workdir)

    from prefect.testing.utilities import prefect_test_harness

    if not args.with_heartbeat_wait:
        _without_heartbeat_wait()

    from flows.retrain import monthly_retrain
    from fraud_detection.adapters.lake import Lake
    from fraud_detection.config import Settings
    from fraud_detection.sources.synthetic import generate_lake_partitions
    from fraud_detection.steps import first_champion, intake

    settings = Settings()
    assert settings.holdout_fraction == holdout_share
    if not args.pool_rows:
        lake = Lake.from_settings(settings)
        for part in generate_lake_partitions(
            months=2,
            rows_per_month=args.rows_per_month,
            base_rows=args.base_rows,
            seed=settings.seed,
        ):
            lake.write(part.name, part.frame, part.truth)
        from fraud_detection.adapters.stores import open_registry

        base = intake.fetch(lake, "base")
        first_champion.bootstrap_champion(
            open_registry(settings), settings, base, intake.validate(base)
        )
    # month 2 trains on base + all of month 1 + the training half of month 2
    pool_rows = (
        args.base_rows
        + args.rows_per_month
        + int(args.rows_per_month * (1 - settings.holdout_fraction))
    )

    with prefect_test_harness(server_startup_timeout=600):
        if not args.pool_rows:  # else the set-up process ran it
            monthly_retrain(month="2025-01")  # warm-up: imports, first API calls, MLflow tables
        _instrument()
        SPENT.clear()
        profiler = cProfile.Profile() if args.profile else None
        baseline_mb = _rss_mb()
        stop_sampling = threading.Event()
        threading.Thread(target=_sample_rss, args=(stop_sampling,), daemon=True).start()
        start = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        state = monthly_retrain(month="2025-02", return_state=True)
        wall = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        stop_sampling.set()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        assert state.is_completed(), state.message

    measured = sum(SPENT.values())
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}"
    )
    print(
        f"pool: ~{pool_rows:,} rows (base {args.base_rows:,} + month 1 + half of month 2, {args.rows_per_month:,} rows each);"
        f" holdout {int(args.rows_per_month * settings.holdout_fraction):,} rows"
    )
    print(f"{'monthly run wall time':32s} {wall:7.2f} s    peak RSS above baseline, MB")
    for category, spent in [*sorted(SPENT.items()), (REST, wall - measured)]:
        above = max(PEAK_MB.get(category, baseline_mb) - baseline_mb, 0)
        print(f"  {category:30s} {spent:7.2f} s  ({spent / wall:5.1%})  {above:7.0f}")

    print(
        f"pool_rows={pool_rows} wall_s={wall:.2f} peak_rss_mb={peak_mb:.0f} "
        f"baseline_rss_mb={baseline_mb:.0f}"
    )


if __name__ == "__main__":
    main()
