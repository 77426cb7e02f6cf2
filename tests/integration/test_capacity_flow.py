"""Capacity and label maturity in the monthly-retrain flow, under a temporary Prefect API:
captured traffic replayed (read back from the ``retrain-replay`` artifact), the threshold cut
for capacity on it, and a late-labelled month held, then judged on its complete delivery."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID

import numpy as np
import pandas as pd
import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
)

from flows.bootstrap import bootstrap
from flows.retrain import monthly_retrain
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.partition_files import parquet_bytes
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.adapters.stores import open_registry
from fraud_detection.core.capacity import share_flagged
from fraud_detection.core.features import feature_matrix, validate_frame
from fraud_detection.core.maturity import IMMATURE_TAG, month_end
from fraud_detection.sources.synthetic import generate
from tests.support.captured import capture
from tests.support.flows import seed_lake, use_data_dir

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_harness")]
CAPACITY = 0.05
LATE_MONTH = "2025-03"


def _artifact(flow_run_id: UUID, key: str) -> str:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
                key=ArtifactFilterKey(any_=[key]),
            )
        )
    assert len(found) == 1, found
    return str(found[0].data)


def _unconfirmed(frame: pd.DataFrame, share: float) -> pd.DataFrame:
    """``share`` of the frauds still marked 0, as an early delivery has them."""
    labels = frame["TARGET"].to_numpy().copy()
    frauds = np.flatnonzero(labels == 1)
    labels[np.random.default_rng(5).choice(frauds, int(len(frauds) * share), replace=False)] = 0
    return frame.assign(TARGET=labels)


def test_traffic_replayed_threshold_cut_and_a_late_labelled_month_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a capacity of 5 %, a 60-day maturity, a champion, two months and captured traffic
    monkeypatch.setenv("FRAUD_REVIEW_CAPACITY", str(CAPACITY))
    monkeypatch.setenv("FRAUD_LABEL_MATURITY_DAYS", "60")
    settings = use_data_dir(monkeypatch, tmp_path / "data")
    months = seed_lake(settings, months=2)
    bootstrap()
    lake = Lake.from_settings(settings)
    traffic = validate_frame(generate(1_500, month_index=2, seed=41, id_start=60_000_000)[0])
    capture(ScoredStore(lake), traffic, datetime.now(UTC) - timedelta(days=20), days=15)

    # When the first month runs
    state = monthly_retrain(month=months[0], return_state=True)
    assert state.is_completed(), state.message

    # Then the replay is read back from the artifact, in words first, on the captured traffic
    replay = _artifact(state.state_details.flow_run_id, "retrain-replay")
    assert "On 1,500 captured applications of the last 30 days" in replay
    assert "would flag" in replay and "flagged by both" in replay and "risk band" in replay
    # and the challenger's threshold flags the capacity on that traffic
    registry = open_registry(settings)
    challenger = registry.version(state.result()["challenger_version"])
    booster = registry.load_booster(challenger.version)
    scores = booster.inplace_predict(feature_matrix(traffic))
    assert challenger.tags.threshold is not None
    assert share_flagged(scores, challenger.tags.threshold) == pytest.approx(CAPACITY, abs=0.002)
    assert monthly_retrain(month=months[1], return_state=True).is_completed()

    # Given a month delivered 10 days after its end with 40 % of its frauds not yet confirmed
    complete = generate(3_000, month_index=3, seed=43, id_start=61_000_000)[0]
    lake.deliver(LATE_MONTH, parquet_bytes(_unconfirmed(complete, 0.4)))
    lake.record_labels_as_of(LATE_MONTH, month_end(LATE_MONTH) + timedelta(days=10))
    champion_before = registry.champion()

    # When the schedule reaches it: it is not promoted, held as immature, the schedule moves on
    early = monthly_retrain()
    assert early["month"] == LATE_MONTH and early["status"] in ("held", "rejected"), early
    held = registry.version(early["challenger_version"])
    assert held.tags.other[IMMATURE_TAG] == lake.latest(LATE_MONTH)
    if early["status"] == "held":
        assert "taken 10 days after its end" in (held.tags.decision_reason or "")
    assert registry.champion() == champion_before
    assert monthly_retrain() == {"status": "nothing to do"}

    # When its complete labels come, taken 90 days after the month's end
    lake.deliver(LATE_MONTH, parquet_bytes(complete))
    lake.record_labels_as_of(LATE_MONTH, month_end(LATE_MONTH) + timedelta(days=90))
    assert lake.labels_as_of(LATE_MONTH) == date(2025, 6, 29)
    judged = monthly_retrain()

    # Then it is judged on them, with no hold of maturity
    assert judged["month"] == LATE_MONTH and judged["status"] in ("promoted", "rejected"), judged
    reason = registry.version(judged["challenger_version"]).tags.decision_reason or ""
    assert "labels" not in reason
    assert monthly_retrain() == {"status": "nothing to do"}
