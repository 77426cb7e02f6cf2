"""The real local servers: S3 keys enforced, PostgreSQL passwords enforced, MLflow on both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import botocore.exceptions
import httpx
import psycopg2
import pytest

from devstack.processes import pid_alive
from devstack.servers import MlflowServer, PostgresServer, PrefectServer, S3Server
from devstack.stack import Stack
from tests.support.servers import BUCKET

pytestmark = pytest.mark.integration


def test_s3_with_the_right_keys_stores_objects(s3_server: S3Server) -> None:
    client = s3_server.client()
    client.put_object(Bucket=BUCKET, Key="probe/hello.txt", Body=b"hello")
    assert client.get_object(Bucket=BUCKET, Key="probe/hello.txt")["Body"].read() == b"hello"


def test_s3_refuses_a_wrong_secret(s3_server: S3Server) -> None:
    client = s3_server.client(secret_key="not-the-secret")
    with pytest.raises(botocore.exceptions.ClientError) as error:
        client.list_objects_v2(Bucket=BUCKET)
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_s3_refuses_anonymous_requests(s3_server: S3Server) -> None:
    response = httpx.get(f"{s3_server.endpoint}/{BUCKET}?list-type=2", timeout=5)
    assert response.status_code == 403


def _connect(server: PostgresServer, password: str | None = None) -> Any:
    return psycopg2.connect(
        host="127.0.0.1",
        port=server.port,
        user="mlflow",
        password=server.password if password is None else password,
        dbname="mlflow",
        connect_timeout=5,
    )


def test_postgres_accepts_the_role_password_and_refuses_a_wrong_one(
    postgres_server: PostgresServer,
) -> None:
    connection = _connect(postgres_server)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == ("mlflow",)
    connection.close()
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        _connect(postgres_server, password="wrong")


def test_mlflow_server_keeps_runs_in_postgres_and_artifacts_in_s3(
    mlflow_server: MlflowServer,
    s3_server: S3Server,
    postgres_server: PostgresServer,
    tmp_path: Path,
) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server.url)
    experiment = client.create_experiment("localstack-probe")
    run = client.create_run(experiment)
    (tmp_path / "note.txt").write_text("artifact through the server")
    client.log_artifact(run.info.run_id, str(tmp_path / "note.txt"))
    client.set_terminated(run.info.run_id)
    keys = [
        o["Key"]
        for o in s3_server.client()
        .list_objects_v2(Bucket=BUCKET, Prefix="mlflow/")
        .get("Contents", [])
    ]
    assert any(k.endswith(f"{run.info.run_id}/artifacts/note.txt") for k in keys), keys
    connection = _connect(postgres_server)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM runs WHERE run_uuid = %s", (run.info.run_id,))
        assert cursor.fetchone() == (1,)
    connection.close()


def test_prefect_server_answers(prefect_server: PrefectServer) -> None:
    assert httpx.get(f"{prefect_server.api_url}/health", timeout=5).status_code == 200


def test_stack_up_is_idempotent_and_down_stops_every_process(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "stack")
    first = stack.up(with_worker=False, deploy=False)
    try:
        second = stack.up(with_worker=False, deploy=False)
        assert second == first  # reused, not started again
        env = stack.env_file.read_text()
        assert "MLFLOW_TRACKING_URI" in env and "AWS_SECRET_ACCESS_KEY" in env
        assert stack.env_file.stat().st_mode & 0o077 == 0  # keys readable by the owner only
    finally:
        stack.down()
    assert not any(pid_alive(pid) for pid in first["pids"].values())
    assert stack.running() is None
