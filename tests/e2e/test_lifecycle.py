"""The whole lifecycle on the real stack, as a user runs it: lake on S3, MLflow server on
PostgreSQL with artifacts on S3, a Prefect server and worker running the deployments, and the
Bento service following the champion."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from devstack.processes import log_tail
from devstack.servers import MlflowServer, PostgresServer, PrefectServer, PrefectWorker, S3Server
from devstack.stack import deploy_flows
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.registry import Registry
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from tests.support.flows import seed_lake
from tests.support.prefect import prefect_cli, read_api, run_deployment, wait_final
from tests.support.servers import BUCKET
from tests.support.service import BentoServer, post

pytestmark = pytest.mark.e2e
PROJECT = Path(__file__).resolve().parents[2]
MONTHS = 4


@dataclass
class Stack:
    """The real servers, the clients' environment and what the steps have seen so far."""

    s3: S3Server
    postgres: PostgresServer
    mlflow: MlflowServer
    prefect: PrefectServer
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    months: list[str] = field(default_factory=list)
    worker: PrefectWorker | None = None
    bento: BentoServer | None = None
    first_champion: str = ""
    seen: list[tuple[int, str | None]] = field(default_factory=list)  # (status, model version)
    outcomes: dict[str, str] = field(default_factory=dict)  # month → decision

    @property
    def settings(self) -> Settings:
        return Settings(
            lake_uri=self.env["FRAUD_LAKE_URI"],
            mlflow_tracking_uri=self.mlflow.url,
            s3_endpoint_url=self.s3.endpoint,
            s3_access_key_id=self.s3.access_key,
            s3_secret_access_key=self.s3.secret_key,
        )

    @property
    def deployed(self) -> dict[str, Any]:
        return {"env": self.env, "api": self.prefect.api_url, "worker": self.worker}

    def run(self, name: str) -> Any:
        return wait_final(self.prefect.api_url, run_deployment(self.deployed, name))


def seed_the_lake_and_deploy(stack: Stack) -> None:
    """The lake in S3, the deployments of prefect.yaml and a worker, configured by env only."""
    stack.env = {
        **stack.s3.client_env(),
        "FRAUD_LAKE_URI": f"s3://{BUCKET}/e2e-lake",
        "MLFLOW_TRACKING_URI": stack.mlflow.url,
        "FRAUD_BOOTSTRAP_SAMPLES": "200",
        "FRAUD_DATA_DIR": str(stack.workdir / "data"),
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    stack.months = seed_lake(stack.settings, months=MONTHS)  # the same code as for a folder
    deploy_flows(PROJECT, stack.prefect.api_url, "fraud-detection", stack.env)
    stack.worker = PrefectWorker(
        "worker",
        stack.workdir,
        pool="fraud-detection",
        api_url=stack.prefect.api_url,
        worker_env=stack.env,
        cwd=PROJECT,
    )
    stack.worker.start()


def bootstrap_the_first_champion(stack: Stack) -> None:
    assert stack.worker is not None
    boot = stack.run("bootstrap/bootstrap")
    assert boot.state.is_completed(), log_tail(stack.worker.log, 60)
    champion = open_registry(stack.settings).champion()
    assert champion is not None
    stack.first_champion = champion.version


def serve_the_champion_to_a_client(stack: Stack, stop: threading.Event) -> threading.Thread:
    """The service follows the champion while a client keeps calling it."""
    stack.bento = BentoServer(
        "service.service:FraudDetector",
        {"FRAUD_MLFLOW_TRACKING_URI": stack.mlflow.url, "FRAUD_REFRESH_INTERVAL_S": "1"},
        stack.workdir / "serve.log",
    ).start()
    first = Lake.from_settings(stack.settings).read(stack.months[0]).head(1)
    record = json.loads(first.to_json(orient="records"))[0]
    url = stack.bento.url

    def client() -> None:
        while not stop.is_set():
            status, body = post(f"{url}/predict", {"data": [record]})
            stack.seen.append((status, body.get("model_version") if status == 200 else None))
            time.sleep(0.05)

    calls = threading.Thread(target=client)
    calls.start()
    return calls


def retrain_every_month_one_failing_then_retried_by_hand(stack: Stack) -> None:
    """monthly-retrain on the Prefect server, month after month; the third month's upload is
    broken, the run fails, the file is fixed and the run retried with `prefect flow-run retry`."""
    assert stack.worker is not None
    s3 = stack.s3.client()
    broken_key = f"e2e-lake/incoming/month={stack.months[2]}/applications.parquet"
    good = s3.get_object(Bucket=BUCKET, Key=broken_key)["Body"].read()
    registry = open_registry(stack.settings)
    for month in stack.months:
        if month == stack.months[2]:
            s3.put_object(Bucket=BUCKET, Key=broken_key, Body=good[:100])
            failed = stack.run("monthly-retrain/monthly-retrain")
            assert failed.state.is_failed()
            s3.put_object(Bucket=BUCKET, Key=broken_key, Body=good)
            retry = prefect_cli(stack.deployed, "flow-run", "retry", str(failed.id))
            assert retry.returncode == 0, retry.stdout + retry.stderr
            run = wait_final(stack.prefect.api_url, failed.id)
        else:
            run = stack.run("monthly-retrain/monthly-retrain")
        assert run.state.is_completed(), log_tail(stack.worker.log, 60)
        version = next(
            v for v in registry.versions() if v.tags.month == month and v.tags.role == "challenger"
        )
        stack.outcomes[month] = version.tags.decision or ""


def check_the_registry_on_postgresql(stack: Stack) -> None:
    """One judged version per month, and the aliases where the decisions put them."""
    registry = open_registry(stack.settings)
    versions = registry.versions()
    judged = [v for v in versions if v.tags.role == "challenger"]
    assert sorted(v.tags.month or "" for v in judged) == stack.months
    decisions = list(stack.outcomes.values())
    assert set(decisions) <= {"promoted", "rejected"} and "promoted" in decisions, stack.outcomes
    promoted = [v.version for v in versions if v.tags.decision == "promoted"]
    champion, challenger = registry.champion(), registry.alias("challenger")
    assert champion is not None and champion.version == promoted[-1]
    assert challenger is not None and challenger.version == judged[-1].version


def check_the_status_command(stack: Stack) -> None:
    """`fraud-detection status --json` shows the same through the tracking server."""
    registry = open_registry(stack.settings)
    shown = subprocess.run(
        [sys.executable, "-m", "fraud_detection_cli.main", "status", "--json"],
        env={**os.environ, **stack.env},
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    listed = json.loads(shown.stdout)
    champion, challenger = registry.champion(), registry.alias("challenger")
    assert champion is not None and challenger is not None
    assert (listed["champion"], listed["challenger"]) == (champion.version, challenger.version)
    assert [v["version"] for v in listed["versions"]] == [v.version for v in registry.versions()]
    assert listed["months"] == stack.months


def check_the_models_are_in_s3_in_xgboosts_format(stack: Stack) -> None:
    pages = (
        stack.s3.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="mlflow/")
    )
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    versions = open_registry(stack.settings).versions()
    assert sum(k.endswith("model.ubj") for k in keys) >= len(versions)


def check_the_service_followed_with_no_failed_request(stack: Stack) -> None:
    failed = [s for s in stack.seen if s[0] != 200]
    assert stack.seen and not failed, failed[:3]
    champion = open_registry(stack.settings).champion()
    assert champion is not None
    served = [v for _, v in stack.seen]
    assert served[0] == stack.first_champion and served[-1] == champion.version


def check_no_secret_in_logs_params_tags_or_artifacts(stack: Stack) -> None:
    assert stack.worker is not None
    registry = open_registry(stack.settings)
    secrets = [stack.s3.secret_key, stack.postgres.password, stack.postgres.admin_password]
    texts = [
        stack.worker.log.read_text(),
        (stack.workdir / "serve.log").read_text(),
        json.dumps(_mlflow_params_and_tags(registry)),
        json.dumps([a.data for a in read_api(stack.prefect.api_url, "read_artifacts")]),
    ]
    for secret in secrets:
        assert all(secret not in text for text in texts)


def test_the_whole_lifecycle_on_the_real_stack(
    s3_server: S3Server,
    postgres_server: PostgresServer,
    mlflow_server: MlflowServer,
    prefect_server: PrefectServer,
    tmp_path: Path,
) -> None:
    stack = Stack(s3_server, postgres_server, mlflow_server, prefect_server, tmp_path)
    stop = threading.Event()
    calls: threading.Thread | None = None
    try:
        seed_the_lake_and_deploy(stack)
        bootstrap_the_first_champion(stack)
        calls = serve_the_champion_to_a_client(stack, stop)
        retrain_every_month_one_failing_then_retried_by_hand(stack)
        time.sleep(2.5)  # more than one refresh interval after the last decision
        stop.set()
        calls.join()
        check_the_registry_on_postgresql(stack)
        check_the_status_command(stack)
        check_the_models_are_in_s3_in_xgboosts_format(stack)
        check_the_service_followed_with_no_failed_request(stack)
        check_no_secret_in_logs_params_tags_or_artifacts(stack)
    finally:
        stop.set()
        if calls is not None:
            calls.join()
        if stack.bento is not None:
            stack.bento.stop()
        if stack.worker is not None:
            stack.worker.stop()


def _mlflow_params_and_tags(registry: Registry) -> list[Any]:
    experiment = registry.experiment_id()
    runs = registry.client.search_runs([experiment], max_results=200)
    return [[r.data.params, r.data.tags] for r in runs] + [
        v.tags.to_tags() for v in registry.versions()
    ]


def test_a_wrong_s3_key_fails_clearly_and_fast(s3_server: S3Server, tmp_path: Path) -> None:
    # MLflow is the embedded SQLite under tmp_path, so the lake is the only thing that can fail
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "FRAUD_"))},
        **s3_server.client_env(),
        "AWS_SECRET_ACCESS_KEY": "definitely-wrong",
        "FRAUD_LAKE_URI": f"s3://{BUCKET}/e2e-lake",
        "FRAUD_DATA_DIR": str(tmp_path),
    }
    started = time.monotonic()
    result = subprocess.run(
        [str(Path(sys.executable).parent / "fraud-detection"), "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert time.monotonic() - started < 60
    output = result.stdout + result.stderr
    assert (
        "403" in output
        or "Forbidden" in output
        or "denied" in output.lower()
        or "SignatureDoesNotMatch" in output
    )
    assert "definitely-wrong" not in output


def test_a_wrong_database_password_fails_clearly_and_fast(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    wrong = postgres_server.uri.replace(postgres_server.password, "wrong-password")
    server = MlflowServer("mlflow-wrong-db", tmp_path, backend_store_uri=wrong)
    budget = 600
    started = time.monotonic()
    with pytest.raises(RuntimeError) as error:  # not a TimeoutError: the budget did not run out
        server.start(timeout=budget)
    server.stop()
    # reported as soon as the server logs the refusal (its workers would retry it forever), long
    # before the start-up budget: the time it takes is the server's import time, load-dependent
    assert time.monotonic() - started < budget / 2
    assert "password authentication failed" in str(error.value)
