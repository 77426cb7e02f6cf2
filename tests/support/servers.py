"""Session-scoped fixtures that start real servers on 127.0.0.1 and stop them by PID afterwards."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from devstack.servers import MlflowServer, PostgresServer, PrefectServer, S3Server

BUCKET = "fraud-test"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """SeaweedFS with access keys enforced and a bucket ``fraud-test``."""
    server = S3Server("s3", tmp_path_factory.mktemp("s3"))
    try:
        server.start()
        server.create_bucket(BUCKET)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """PostgreSQL with a password-protected role and database ``mlflow``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset in CI
        server = PostgresServer("postgres", tmp_path_factory.mktemp("postgres"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mlflow_server(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer, s3_server: S3Server
) -> Iterator[MlflowServer]:
    """``mlflow server`` on PostgreSQL, artifacts proxied to the S3 bucket."""
    server = MlflowServer(
        "mlflow",
        tmp_path_factory.mktemp("mlflow"),
        backend_store_uri=postgres_server.uri,
        artifacts_destination=f"s3://{BUCKET}/mlflow",
        server_env=s3_server.client_env(),
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    server = PrefectServer("prefect", tmp_path_factory.mktemp("prefect"))
    try:
        server.start()
        yield server
    finally:
        server.stop()
