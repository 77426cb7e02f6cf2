"""One monthly retrain fitted in the flow's process, then on a Dask LocalCluster, interleaved.

    .venv/bin/python bench/dask_flow.py [--base-rows 400000] [--rows-per-month 20000] [--rounds 2]

An S3 lake (SeaweedFS, devstack) holds the base history and one month; the cluster has two
worker processes of one thread each (``--worker-memory``). Each measured run is a fresh process
after a set-up process made its registry's first champion, so that its figures are the monthly
run's own: wall time, and the flow process's peak resident set above its baseline (the process
just before the flow starts); for the cluster, also each worker's peak resident set, sampled
every 0.2 s, above its resident set after a restart. Ends with one line per run
``mode=… pool_rows=… wall_s=… flow_peak_mb=… flow_baseline_mb=… worker_peak_mb=a,b
worker_baseline_mb=a,b status=…``.
Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MONTH = "2025-01"


def _peak_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _environment(workdir: str, lake: dict[str, str], dask_address: str) -> None:
    os.environ.update(
        {
            **lake,
            "FRAUD_DATA_DIR": f"{workdir}/data",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "PREFECT_HOME": f"{workdir}/prefect",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
    )
    os.environ.pop("FRAUD_DASK_ADDRESS", None)
    if dask_address:
        os.environ["FRAUD_DASK_ADDRESS"] = dask_address


def _child(args: argparse.Namespace) -> None:
    """--set-up: the first champion; --measure: the monthly run, its figures as JSON."""
    lake = json.loads(os.environ["BENCH_LAKE"])
    _environment(args.workdir, lake, args.dask_address)
    from fraud_detection.adapters.lake import Lake
    from fraud_detection.adapters.stores import open_registry
    from fraud_detection.config import Settings
    from fraud_detection.steps import first_champion, intake

    settings = Settings()
    if args.set_up:
        base = intake.fetch(Lake.from_settings(settings), "base")
        first_champion.bootstrap_champion(
            open_registry(settings), settings, base, intake.validate(base)
        )
        return
    from prefect.testing.utilities import prefect_test_harness

    from flows.retrain import monthly_retrain

    with prefect_test_harness(server_startup_timeout=600):
        baseline = _rss_mb()
        start = time.perf_counter()
        result = monthly_retrain(month=MONTH)
        wall = time.perf_counter() - start
    print(json.dumps({"wall_s": wall, "peak_mb": _peak_mb(), "baseline_mb": baseline, **result}))


def _worker_rss(client: Any) -> list[float]:
    def rss() -> float:
        import psutil

        return float(psutil.Process().memory_info().rss) / 2**20

    return [v for _, v in sorted(client.run(rss).items())]


class _Sampler(threading.Thread):
    """Each worker's largest resident set while a run goes on."""

    def __init__(self, client: Any) -> None:
        super().__init__(daemon=True)
        self.client, self.done = client, threading.Event()
        self.baseline = self.peaks = _worker_rss(client)

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.peaks = [
                max(a, b) for a, b in zip(self.peaks, _worker_rss(self.client), strict=True)
            ]


def _run(mode: str, lake: dict[str, str], address: str, client: Any) -> dict[str, Any]:
    workdir = tempfile.mkdtemp(prefix=f"bench-dask-{mode}-")
    env = {**os.environ, "BENCH_LAKE": json.dumps(lake)}
    base = [sys.executable, __file__, "--workdir", workdir]
    base += ["--dask-address", address if mode == "dask" else ""]
    subprocess.run([*base, "--set-up"], check=True, env=env)
    sampler = None
    if mode == "dask":
        client.restart()
        sampler = _Sampler(client)
        sampler.start()
    done = subprocess.run([*base, "--measure"], check=True, env=env, capture_output=True, text=True)
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if sampler is not None:
        sampler.done.set()
        sampler.join()
        figures["worker_peak_mb"] = sampler.peaks
        figures["worker_baseline_mb"] = sampler.baseline
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-rows", type=int, default=400_000)
    parser.add_argument("--rows-per-month", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker-memory", default="4GiB")
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--dask-address", default="", help=argparse.SUPPRESS)
    parser.add_argument("--set-up", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.set_up or args.measure:
        _child(args)
        return

    from distributed import Client, LocalCluster

    from devstack.servers import S3Server
    from fraud_detection.adapters.lake import Lake
    from fraud_detection.config import Settings
    from fraud_detection.sources.synthetic import generate_lake_partitions

    state = Path(tempfile.mkdtemp(prefix="bench-dask-s3-"))
    s3 = S3Server("s3", state).start()
    try:
        s3.create_bucket("bench")
        lake = {
            "FRAUD_LAKE_URI": "s3://bench/lake",
            "FRAUD_S3_ENDPOINT_URL": s3.endpoint,
            "FRAUD_S3_ACCESS_KEY_ID": s3.access_key,
            "FRAUD_S3_SECRET_ACCESS_KEY": s3.secret_key,
        }
        settings = Settings(
            lake_uri=lake["FRAUD_LAKE_URI"],
            s3_endpoint_url=s3.endpoint,
            s3_access_key_id=s3.access_key,
            s3_secret_access_key=s3.secret_key,
        )
        writer = Lake.from_settings(settings)
        for part in generate_lake_partitions(
            months=1,
            rows_per_month=args.rows_per_month,
            base_rows=args.base_rows,
            seed=settings.seed,
        ):
            writer.write(part.name, part.frame, part.truth)
        pool_rows = args.base_rows + int(args.rows_per_month * (1 - settings.holdout_fraction))
        print(
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
            f"pool {pool_rows} rows (base {args.base_rows} + the month's training part); "
            f"cluster: 2 workers × 1 thread, {args.worker_memory} each"
        )
        with (
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                memory_limit=args.worker_memory,
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            lines = []
            for _ in range(args.rounds):
                for mode in ("local", "dask"):
                    f = _run(mode, lake, cluster.scheduler_address, client)
                    workers = ",".join(f"{v:.0f}" for v in f.get("worker_peak_mb", []))
                    before = ",".join(f"{v:.0f}" for v in f.get("worker_baseline_mb", []))
                    line = (
                        f"mode={mode} pool_rows={pool_rows} wall_s={f['wall_s']:.1f} "
                        f"flow_peak_mb={f['peak_mb']:.0f} flow_baseline_mb={f['baseline_mb']:.0f}"
                        f" worker_peak_mb={workers or '-'} worker_baseline_mb={before or '-'}"
                        f" status={f['status']}"
                    )
                    print(line, flush=True)
                    lines.append(line)
    finally:
        s3.stop()


if __name__ == "__main__":
    main()
