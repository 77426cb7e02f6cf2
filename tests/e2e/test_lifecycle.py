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
from tests.support.prefect import prefect_cli, run_deployment, wait_final
from tests.support.servers import BUCKET
from tests.support.service import BentoServer, post

pytestmark = pytest.mark.e2e
PROJECT = Path(__file__).resolve().parents[2]
MONTHS = 4


def test_the_whole_lifecycle_on_the_real_stack(
    s3_server: S3Server,
    postgres_server: PostgresServer,
    mlflow_server: MlflowServer,
    prefect_server: PrefectServer,
    tmp_path: Path,
) -> None:
    # Given the lake in S3 and clients configured only through the environment
    client_env = {
        **s3_server.client_env(),
        "FRAUD_LAKE_URI": f"s3://{BUCKET}/e2e-lake",
        "MLFLOW_TRACKING_URI": mlflow_server.url,
        "FRAUD_BOOTSTRAP_SAMPLES": "200",
        "FRAUD_DATA_DIR": str(tmp_path / "data"),
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    settings = Settings(
        lake_uri=client_env["FRAUD_LAKE_URI"],
        mlflow_tracking_uri=mlflow_server.url,
        s3_endpoint_url=s3_server.endpoint,
        s3_access_key_id=s3_server.access_key,
        s3_secret_access_key=s3_server.secret_key,
    )
    months = seed_lake(settings, months=MONTHS)  # the same code writes to S3 as to a folder
    deploy_flows(PROJECT, prefect_server.api_url, "fraud-detection", client_env)
    worker = PrefectWorker(
        "worker",
        tmp_path,
        pool="fraud-detection",
        api_url=prefect_server.api_url,
        worker_env=client_env,
        cwd=PROJECT,
    )
    deployed = {"env": client_env, "api": prefect_server.api_url, "worker": worker}
    bento = None
    seen: list[tuple[int, str | None]] = []
    stop = threading.Event()
    try:
        worker.start()
        # When the bootstrap deployment sets the first champion
        boot = wait_final(prefect_server.api_url, run_deployment(deployed, "bootstrap/bootstrap"))
        assert boot.state.is_completed(), log_tail(worker.log, 60)
        registry = open_registry(settings)
        first_champion = registry.champion()
        assert first_champion is not None

        # and the service follows the champion while a client keeps calling it
        bento = BentoServer(
            "service.service:FraudDetector",
            {"FRAUD_MLFLOW_TRACKING_URI": mlflow_server.url, "FRAUD_REFRESH_INTERVAL_S": "1"},
            tmp_path / "serve.log",
        ).start()
        record = json.loads(
            Lake.from_settings(settings).read(months[0]).head(1).to_json(orient="records")
        )[0]

        def client() -> None:
            while not stop.is_set():
                status, body = post(f"{bento.url}/predict", {"data": [record]})
                seen.append((status, body.get("model_version") if status == 200 else None))
                time.sleep(0.05)

        calls = threading.Thread(target=client)
        calls.start()

        # and monthly-retrain runs month after month on the Prefect server, one of them failing
        # on a broken upload, fixed, then retried by hand
        s3 = s3_server.client()
        broken_key = f"e2e-lake/incoming/month={months[2]}/applications.parquet"
        good = s3.get_object(Bucket=BUCKET, Key=broken_key)["Body"].read()
        outcomes: dict[str, str] = {}
        for month in months:
            if month == months[2]:
                s3.put_object(Bucket=BUCKET, Key=broken_key, Body=good[:100])
                failed = wait_final(
                    prefect_server.api_url,
                    run_deployment(deployed, "monthly-retrain/monthly-retrain"),
                )
                assert failed.state.is_failed()
                s3.put_object(Bucket=BUCKET, Key=broken_key, Body=good)
                retry = prefect_cli(deployed, "flow-run", "retry", str(failed.id))
                assert retry.returncode == 0, retry.stdout + retry.stderr
                run = wait_final(prefect_server.api_url, failed.id)
            else:
                run = wait_final(
                    prefect_server.api_url,
                    run_deployment(deployed, "monthly-retrain/monthly-retrain"),
                )
            assert run.state.is_completed(), log_tail(worker.log, 60)
            version = next(
                v
                for v in registry.versions()
                if v.tags.month == month and v.tags.role == "challenger"
            )
            outcomes[month] = version.tags.decision
        time.sleep(2.5)  # more than one refresh interval after the last decision
        stop.set()
        calls.join()

        # Then the registry on PostgreSQL holds one judged version per month, aliases match
        versions = registry.versions()
        judged = [v for v in versions if v.tags.role == "challenger"]
        assert sorted(v.tags.month or "" for v in judged) == months
        decisions = list(outcomes.values())
        assert set(decisions) <= {"promoted", "rejected"} and "promoted" in decisions, outcomes
        promoted = [v.version for v in versions if v.tags.decision == "promoted"]
        champion = registry.champion()
        assert champion is not None and champion.version == promoted[-1]
        assert str(registry.alias("challenger").version) == str(judged[-1].version)

        # and `fraud-detection status` shows the same through the tracking server
        shown = subprocess.run(
            [sys.executable, "-m", "fraud_detection_cli.main", "status", "--json"],
            env={**os.environ, **client_env},
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert shown.returncode == 0, shown.stderr
        listed = json.loads(shown.stdout)
        assert (listed["champion"], listed["challenger"]) == (
            champion.version,
            str(judged[-1].version),
        )
        assert [v["version"] for v in listed["versions"]] == [str(v.version) for v in versions]
        assert listed["months"] == months

        # and the models are in the S3 bucket, in XGBoost's own format
        keys = [
            o["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=BUCKET, Prefix="mlflow/"
            )
            for o in page.get("Contents", [])
        ]
        assert sum(k.endswith("model.ubj") for k in keys) >= len(versions)

        # and the service moved to the new champion with zero failed requests
        assert seen and all(status == 200 for status, _ in seen), [s for s in seen if s[0] != 200][
            :3
        ]
        served = [v for _, v in seen]
        assert served[0] == first_champion.version and served[-1] == champion.version

        # and no secret appears in logs, MLflow params/tags or Prefect artifacts
        secrets = [s3_server.secret_key, postgres_server.password, postgres_server.admin_password]
        texts = [
            worker.log.read_text(),
            (tmp_path / "serve.log").read_text(),
            json.dumps(_mlflow_params_and_tags(registry)),
            json.dumps(_artifacts(prefect_server.api_url)),
        ]
        for secret in secrets:
            assert all(secret not in text for text in texts)
    finally:
        stop.set()
        if bento is not None:
            bento.stop()
        worker.stop()


def _mlflow_params_and_tags(registry: Registry) -> list[Any]:
    experiment = registry.experiment_id()
    runs = registry.client.search_runs([experiment], max_results=200)
    return [[r.data.params, r.data.tags] for r in runs] + [
        v.tags.to_tags() for v in registry.versions()
    ]


def _artifacts(api: str) -> list[Any]:
    from tests.integration.test_prefect_deployment import _read

    return [a.data for a in _read(api, "read_artifacts")]


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
    started = time.monotonic()
    with pytest.raises((RuntimeError, TimeoutError)) as error:
        server.start(timeout=90)
    server.stop()
    # reported as soon as the server logs the refusal, not when the start-up budget runs out
    assert time.monotonic() - started < 60
    assert "password authentication failed" in str(error.value)
