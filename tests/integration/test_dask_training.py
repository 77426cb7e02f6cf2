"""The monthly flow fitting on a Dask cluster (FRAUD_DASK_ADDRESS): a LocalCluster of two worker
processes reading an S3 lake (SeaweedFS) decides each month as a single-machine run does.

Both runs read the same lake (so their lineage, the reuse key, must be identical) into their own
registries. XGBoost's quantile sketch is merged across the workers' shards and its row sampling
(subsample 0.9) is drawn per shard, so the boosters differ. On these 1 000-row months
(500-row holdouts of 29 and 45 frauds) four seeds on one machine spread over 0.011–0.025 of
holdout ROC AUC, 0.03–0.04 of PR AUC and 0.0025 of Brier score; the cluster's fits are held to
ROC AUC within 0.03 of one machine's, PR AUC within 0.05, Brier score within 0.005 (measured:
0.020, 0.038, 0.0026 at most). The months are the lake's first two: one clear rejection
and one clear promotion (the gate's bound 0.009–0.019 from its limit either way in both runs);
the third month of this lake is a coin toss at this size (one machine's bound 0.0006 under the
limit), which no fit with other random draws can be expected to repeat.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from devstack.servers import S3Server
from flows.bootstrap import bootstrap
from flows.retrain import monthly_retrain
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from tests.support.flows import seed_lake, use_data_dir, versions_by_month
from tests.support.servers import BUCKET

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_harness")]
MONTHS = 2  # the second month's pool holds the base and an earlier decided month
ROC_AUC_TOLERANCE = 0.03
PR_AUC_TOLERANCE = 0.05
BRIER_TOLERANCE = 0.005
WORKER_MEMORY = "1GiB"  # a worker past it is restarted by its nanny: the run would fail


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[Any]:
    """Two worker processes, one thread each, with a small memory limit."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        memory_limit=WORKER_MEMORY,
        dashboard_address=None,
    ) as cluster:
        yield cluster


def _on_s3(monkeypatch: pytest.MonkeyPatch, s3: S3Server, lake_uri: str) -> None:
    monkeypatch.setenv("FRAUD_LAKE_URI", lake_uri)
    monkeypatch.setenv("FRAUD_S3_ENDPOINT_URL", s3.endpoint)
    monkeypatch.setenv("FRAUD_S3_ACCESS_KEY_ID", s3.access_key)
    monkeypatch.setenv("FRAUD_S3_SECRET_ACCESS_KEY", s3.secret_key)


def _run_months(months: list[str]) -> tuple[dict[str, dict[str, Any]], float]:
    start = time.perf_counter()
    assert bootstrap()["created"] is True
    outcomes = {}
    for month in months:
        state = monthly_retrain(month, return_state=True)
        assert state.is_completed(), state.message
        outcomes[month] = state.result()
    return outcomes, time.perf_counter() - start


def _holdout_metrics(settings: Settings) -> dict[str, dict[str, float]]:
    """Month → the holdout metrics the flow recorded on its challenger's run."""
    registry, client = open_registry(settings), MlflowClient(settings.tracking_uri)
    found = {}
    for month, [number] in versions_by_month(settings).items():
        run_id = registry.version(number).run_id
        assert run_id
        found[month] = client.get_run(run_id).data.metrics
    return found


def _tags(settings: Settings, role: str) -> dict[str, Any]:
    registry = open_registry(settings)
    return {
        month: registry.version(numbers[0]).tags
        for month, numbers in versions_by_month(settings, role).items()
    }


def test_a_dask_cluster_reading_the_s3_lake_decides_each_month_as_one_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_server: S3Server, dask_cluster: Any
) -> None:
    # Given an S3 lake of base history and three months
    lake_uri = f"s3://{BUCKET}/dask-{uuid.uuid4().hex[:8]}"
    use_data_dir(monkeypatch, tmp_path / "local")
    _on_s3(monkeypatch, s3_server, lake_uri)
    local = Settings()
    months = seed_lake(local, months=3)[:MONTHS]

    # When the months are decided on this machine, then with a fresh registry on the cluster
    monkeypatch.delenv("FRAUD_DASK_ADDRESS", raising=False)
    local_outcomes, local_s = _run_months(months)
    print(f"one machine: {local_s:.1f} s")
    use_data_dir(monkeypatch, tmp_path / "clustered")
    _on_s3(monkeypatch, s3_server, lake_uri)
    monkeypatch.setenv("FRAUD_DASK_ADDRESS", dask_cluster.scheduler_address)
    clustered = Settings()
    assert clustered.dask_address == dask_cluster.scheduler_address
    cluster_outcomes, cluster_s = _run_months(months)
    print(f"{MONTHS} monthly runs: one machine {local_s:.1f} s, Dask cluster {cluster_s:.1f} s")

    # Then every month gets the same decision
    assert [cluster_outcomes[m]["status"] for m in months] == [
        local_outcomes[m]["status"] for m in months
    ]
    assert "promoted" in {o["status"] for o in local_outcomes.values()}  # a refit was exercised
    # and the challengers were trained on exactly the same partitions (the same reuse key)
    local_tags, cluster_tags = _tags(local, "challenger"), _tags(clustered, "challenger")
    for month in months:
        assert cluster_tags[month].data_sha256 == local_tags[month].data_sha256
        assert cluster_tags[month].training_rows == local_tags[month].training_rows
    # and each month's refit, when promoted, was fitted on the cluster too, on the whole month
    assert set(_tags(clustered, "refit")) == set(_tags(local, "refit"))
    # and the holdout metrics agree within the tolerance of a merged sketch
    local_metrics, cluster_metrics = _holdout_metrics(local), _holdout_metrics(clustered)
    for month in months:
        one, many = local_metrics[month], cluster_metrics[month]
        print(month, {k: (round(one[k], 4), round(many[k], 4)) for k in _COMPARED})
        assert abs(one["holdout_roc_auc"] - many["holdout_roc_auc"]) <= ROC_AUC_TOLERANCE
        assert abs(one["holdout_pr_auc"] - many["holdout_pr_auc"]) <= PR_AUC_TOLERANCE
        assert abs(one["holdout_brier"] - many["holdout_brier"]) <= BRIER_TOLERANCE
    # and the cluster ran the reading of the history and the fits (its tasks, by name)
    prefixes = set(dask_cluster.scheduler.task_prefixes)
    print("cluster task prefixes:", sorted(prefixes))
    assert any(p.startswith("sha256") for p in prefixes)  # the lineage's hashes
    assert any(p.startswith("part-base") for p in prefixes)  # the base read on a worker
    assert any(p.startswith("weighted-base") for p in prefixes)  # its stage-1 rows, there


_COMPARED = ("holdout_roc_auc", "holdout_pr_auc", "holdout_brier", "threshold")
