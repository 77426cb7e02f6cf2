"""The deployments of prefect.yaml on a real `prefect server` with a process worker, driven
with the commands a user types: deploy, run, watch a failure, fix it, `prefect flow-run retry`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.processes import log_tail
from devstack.servers import PrefectServer
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from tests.support.flows import seed_lake, versions_by_month
from tests.support.prefect import (
    POOL,
    deployed_with_worker,
    prefect_cli,
    read_api,
    run_deployment,
    wait_final,
)

pytestmark = pytest.mark.integration
PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def deployed(
    prefect_server: PrefectServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A seeded local lake, both deployments created from prefect.yaml, and a running worker."""
    data_dir = tmp_path_factory.mktemp("deployment") / "data"
    settings = Settings(data_dir=data_dir)
    seed_lake(settings, months=2)
    env = {
        "FRAUD_DATA_DIR": str(data_dir),
        "FRAUD_BOOTSTRAP_SAMPLES": "200",
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    with deployed_with_worker(prefect_server, data_dir, env) as deployed:
        yield {**deployed, "settings": settings}


def test_deployments_carry_the_cron_schedule_and_concurrency_limit(
    deployed: dict[str, Any],
) -> None:
    retrain = read_api(
        deployed["api"], "read_deployment_by_name", "monthly-retrain/monthly-retrain"
    )
    crons = [s.schedule.cron for s in retrain.schedules if s.active]
    assert crons == ["0 6 1 * *"]
    assert retrain.work_pool_name == POOL
    assert (
        retrain.global_concurrency_limit is not None and retrain.global_concurrency_limit.limit == 1
    )
    monitor = read_api(deployed["api"], "read_deployment_by_name", "monitor/monitor")
    assert [s.schedule.cron for s in monitor.schedules if s.active] == ["0 5 * * *"]
    assert monitor.work_pool_name == POOL
    bootstrap = read_api(deployed["api"], "read_deployment_by_name", "bootstrap/bootstrap")
    assert bootstrap.schedules == []
    assert (
        json.dumps(retrain.pull_steps).find(str(PROJECT)) > 0
    )  # runs in the project, no git clone


def test_a_failed_run_is_fixed_and_retried_by_hand_without_a_second_version(
    deployed: dict[str, Any],
) -> None:
    settings = deployed["settings"]
    api = deployed["api"]
    # Given a champion from the bootstrap deployment
    boot = wait_final(api, run_deployment(deployed, "bootstrap/bootstrap"))
    assert boot.state.is_completed(), log_tail(deployed["worker"].log, 40)
    assert open_registry(settings).champion() is not None

    # and a month whose partition was uploaded broken
    month = "2025-01"
    path = Path(settings.lake) / "incoming" / f"month={month}" / "applications.parquet"
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 3])

    # When the deployment runs on it, the run fails
    failed = wait_final(
        api, run_deployment(deployed, "monthly-retrain/monthly-retrain", f"month={month}")
    )
    assert failed.state.is_failed()
    assert month not in versions_by_month(settings)

    # and after the cause is fixed, `prefect flow-run retry` re-runs the same flow run to Completed
    path.write_bytes(good)
    retry = prefect_cli(deployed, "flow-run", "retry", str(failed.id))
    assert retry.returncode == 0, retry.stdout + retry.stderr
    retried = wait_final(api, failed.id)
    assert retried.state.is_completed(), log_tail(deployed["worker"].log, 40)
    assert retried.run_count >= 2
    assert len(versions_by_month(settings)[month]) == 1
    assert Lake.from_settings(settings).list_months() == ["2025-01", "2025-02"]

    # and the next scheduled-style run (no month) picks the following month
    nxt = wait_final(api, run_deployment(deployed, "monthly-retrain/monthly-retrain"))
    assert nxt.state.is_completed()
    assert nxt.name == "retrain-2025-02" or "2025-02" in versions_by_month(settings)
    assert len(versions_by_month(settings)["2025-02"]) == 1
