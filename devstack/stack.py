"""``python -m devstack up|down|status``: the production-like stack of ``deployments/local``.

PostgreSQL + S3 + MLflow (Postgres store, S3 artifacts) + Prefect server, work pool,
deployments and worker, recorded in a state directory so a second ``up`` reuses it.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.processes import (
    QUIET_ENV,
    Managed,
    binary,
    http_ok,
    pid_alive,
    stop_pid,
)
from devstack.servers import MlflowServer, PostgresServer, PrefectServer, PrefectWorker, S3Server


# -- the whole stack ---------------------------------------------------------------------------
@dataclass
class Stack:
    """PostgreSQL + S3 + MLflow (Postgres store, S3 artifacts) + Prefect server, pool, deployments, worker."""

    state_dir: Path
    project_dir: Path = field(default_factory=lambda: Path(__file__).resolve().parents[1])
    bucket: str = "fraud"
    pool: str = "fraud-detection"

    @property
    def env_file(self) -> Path:
        return self.state_dir / "stack.env"

    @property
    def pids_file(self) -> Path:
        return self.state_dir / "pids.json"

    def running(self) -> dict[str, Any] | None:
        """The recorded stack, if every process is alive and answering."""
        if not self.pids_file.exists():
            return None
        record = json.loads(self.pids_file.read_text())
        if not all(pid_alive(pid) for pid in record["pids"].values()):
            return None
        urls = record["urls"]
        if not (http_ok(f"{urls['mlflow']}/health") and http_ok(f"{urls['prefect_api']}/health")):
            return None
        running: dict[str, Any] = record
        return running

    def up(self, *, with_worker: bool = True, deploy: bool = True) -> dict[str, Any]:
        existing = self.running()
        if existing is not None:
            return existing
        self.down()  # leftovers of a half-started stack
        self.state_dir.mkdir(parents=True, exist_ok=True)
        started: list[Managed] = []
        try:
            postgres = PostgresServer("postgres", self.state_dir).start()
            started.append(postgres)
            s3 = S3Server("s3", self.state_dir).start()
            started.append(s3)
            s3.create_bucket(self.bucket)
            mlflow = MlflowServer(
                "mlflow",
                self.state_dir,
                backend_store_uri=postgres.uri,
                artifacts_destination=f"s3://{self.bucket}/mlflow",
                server_env=s3.client_env(),
            ).start()
            started.append(mlflow)
            prefect = PrefectServer("prefect", self.state_dir).start()
            started.append(prefect)
            client_env = {
                **s3.client_env(),
                "FRAUD_LAKE_URI": f"s3://{self.bucket}/lake",
                "MLFLOW_TRACKING_URI": mlflow.url,
                "PREFECT_API_URL": prefect.api_url,
            }
            if deploy:
                deploy_flows(self.project_dir, prefect.api_url, self.pool, client_env)
            if with_worker:
                worker = PrefectWorker(
                    "worker",
                    self.state_dir,
                    pool=self.pool,
                    api_url=prefect.api_url,
                    worker_env=client_env,
                    cwd=self.project_dir,
                ).start()
                started.append(worker)
        except BaseException:
            for process in reversed(started):
                process.stop()
            raise
        record = {
            "pids": {p.name: p.pid for p in started},
            "signals": {p.name: int(p.stop_signal) for p in started},
            "urls": {
                "mlflow": mlflow.url,
                "prefect_api": prefect.api_url,
                "prefect_ui": prefect.api_url.removesuffix("/api"),
                "s3": s3.endpoint,
            },
        }
        self.pids_file.write_text(json.dumps(record, indent=2))
        write_env_file(self.env_file, client_env)
        return record

    def down(self) -> None:
        if not self.pids_file.exists():
            return
        record = json.loads(self.pids_file.read_text())
        for name, pid in reversed(list(record["pids"].items())):
            stop_pid(pid, first=signal.Signals(record.get("signals", {}).get(name, signal.SIGTERM)))
        self.pids_file.unlink()


def deploy_flows(project_dir: Path, api_url: str, pool: str, env: Mapping[str, str]) -> None:
    """Create the work pool and deploy every deployment of prefect.yaml (idempotent)."""
    prefect = str(binary("prefect"))
    full_env = {
        **os.environ,
        **QUIET_ENV,
        **env,
        "PREFECT_API_URL": api_url,
        "PWD": str(project_dir),
    }

    def run(args: list[str], timeout: float) -> None:
        done = subprocess.run(
            [prefect, *args], cwd=project_dir, env=full_env, capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(
                f"prefect {' '.join(args)} failed: {done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            )

    run(["work-pool", "create", pool, "--type", "process", "--overwrite"], timeout=120)
    run(["--no-prompt", "deploy", "--all"], timeout=300)


def write_env_file(path: Path, env: Mapping[str, str]) -> None:
    """``export`` lines for a shell to source; mode 0600 because it holds keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local production-like stack (no Docker).")
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--state-dir", type=Path, default=Path(".state/local"))
    parser.add_argument("--no-worker", action="store_true", help="Do not start a Prefect worker")
    args = parser.parse_args(argv)
    stack = Stack(args.state_dir.resolve())
    if args.action == "down":
        stack.down()
        print("stack stopped")
        return 0
    record = (
        stack.running() if args.action == "status" else stack.up(with_worker=not args.no_worker)
    )
    if record is None:
        print("stack not running")
        return 1
    urls = record["urls"]
    print(f"Prefect UI:  {urls['prefect_ui']}")
    print(f"MLflow UI:   {urls['mlflow']}")
    print(f"S3 endpoint: {urls['s3']} (bucket {stack.bucket})")
    print(f"Environment: source {stack.env_file}")
    print(
        "Service:     source the env file, then `.venv/bin/bentoml serve service.service:FraudDetector` "
        "→ Swagger UI at http://127.0.0.1:3000"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
