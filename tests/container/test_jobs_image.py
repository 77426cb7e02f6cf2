"""The jobs image (deployments/Dockerfile) runs one monthly retrain against the host's lake
(S3 server with keys) and MLflow, configured by environment only — as a Kubernetes Job that a
Prefect worker starts from the base job template would."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import pytest

from devstack.servers import S3Server
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from tests.support.containers.engine import VENV_BIN, run
from tests.support.containers.report import report
from tests.support.models import register_small, train_small
from tests.support.servers import BUCKET

pytestmark = pytest.mark.container
MONTH = "2025-01"


def test_the_jobs_image_runs_a_monthly_retrain(
    jobs_image: str, registry: dict[str, Any], s3_server: S3Server
) -> None:
    # Given a lake on the host's S3 server and a champion in the host's MLflow
    lake = f"s3://{BUCKET}/container-lake-{uuid.uuid4().hex[:8]}"
    names = {"FRAUD_MODEL_NAME": "fraud-detector-jobs", "FRAUD_EXPERIMENT_NAME": "container-jobs"}
    env = {
        **s3_server.client_env(),
        **names,
        "FRAUD_LAKE_URI": lake,
        "MLFLOW_TRACKING_URI": registry["server"].url,
        "FRAUD_BOOTSTRAP_SAMPLES": "200",
    }
    inherited = {
        k: v for k, v in os.environ.items() if not k.startswith(("FRAUD_", "MLFLOW_", "AWS_"))
    }
    run(
        [
            *(str(VENV_BIN / "fraud-detection"), "seed-data", "--months", "1"),
            *("--rows-per-month", "1000", "--base-rows", "4000"),
        ],
        env={**inherited, **env},
        timeout=300,
    )
    settings = Settings(
        mlflow_tracking_uri=registry["server"].url,
        model_name=names["FRAUD_MODEL_NAME"],
        experiment_name=names["FRAUD_EXPERIMENT_NAME"],
        data_dir=registry["settings"].data_dir,
    )
    champion = register_small(open_registry(settings), train_small(3, 0), "2024-12")
    open_registry(settings).promote(champion, expected_champion=None)

    # When the image runs the month, sharing only the host's loopback
    started = time.monotonic()
    args = ["podman", "run", "--rm", "--network", "host"]
    for key, value in env.items():
        args += ["-e", f"{key}={value}"]
    result = run(
        [*args, jobs_image, "fraud-detection", "retrain", "--month", MONTH],
        timeout=600,
        check=False,
    )
    seconds = time.monotonic() - started
    report("monthly retrain in the jobs image", f"{seconds:.1f} s")

    # Then it trained, registered and decided on that month in the host's registry
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    versions = [v for v in open_registry(settings).versions() if v.tags.month == MONTH]
    assert versions, [v.tags for v in open_registry(settings).versions()]
    assert any(v.tags.decided for v in versions), [v.tags for v in versions]
