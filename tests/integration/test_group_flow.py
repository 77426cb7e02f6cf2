"""The group check in the monthly-retrain flow under a temporary Prefect API: a month whose
labels are biased against pensioners is held, the group named; the figures reach MLflow and the
``retrain-groups`` table artifact."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

import numpy as np
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
from fraud_detection.adapters.stores import open_registry
from fraud_detection.core.contract import NOT_EMPLOYED
from fraud_detection.sources.synthetic import generate
from tests.support.flows import use_data_dir

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_harness")]
BASE_ROWS, MONTH_ROWS = 8_000, 8_000
ACCUSED_SHARE = (
    0.15  # of the month's innocent pensioners labelled fraud (30 % trips the data alarm)
)


def _artifact(flow_run_id: UUID, key: str) -> object:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
                key=ArtifactFilterKey(any_=[key]),
            )
        )
    assert len(found) == 1, found
    return found[0].data


def test_a_month_with_labels_biased_against_pensioners_is_held_with_the_group_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a champion trained on the history and a month whose labels were biased: an
    # investigation campaign aimed at pensioners labelled 15 % of the innocent ones fraud
    settings = use_data_dir(monkeypatch, tmp_path / "data")
    lake = Lake.from_settings(settings)
    lake.write("base", *generate(BASE_ROWS, month_index=0, seed=settings.seed))
    frame, truth = generate(MONTH_ROWS, month_index=1, seed=4, id_start=50_000_000)
    pensioner = frame["DAYS_EMPLOYED"].to_numpy() == NOT_EMPLOYED.value
    accused = (
        pensioner
        & (frame["TARGET"].to_numpy() == 0)
        & (np.random.default_rng(8).random(len(frame)) < ACCUSED_SHARE)
    )
    month = "2025-01"
    lake.write(month, frame.assign(TARGET=np.where(accused, 1, frame["TARGET"])), truth)
    bootstrap()

    # When the month is retrained
    state = monthly_retrain(month=month, return_state=True)

    # Then it is held, not promoted, the reason naming the group and the tolerance
    assert state.is_completed(), state.message
    result = state.result()
    assert result["status"] == "held", result
    registry = open_registry(settings)
    version = registry.version(result["challenger_version"])
    assert version.tags.decision == "held"
    reason = version.tags.decision_reason or ""
    assert "pensioner = pensioner" in reason and "FRAUD_GROUP_TOLERANCE" in reason, reason
    champion = registry.champion()
    assert champion is not None and champion.tags.month == "base"

    # and the challenger's MLflow run holds a metric per group, the pensioners flagged more
    assert version.run_id is not None
    metrics = registry.client.get_run(version.run_id).data.metrics
    assert (
        metrics["group.pensioner.pensioner.selection_rate"]
        > metrics["group.pensioner.pensioner.champion_selection_rate"] + settings.group_tolerance
    )
    assert {"group.sex.female.false_positive_rate", "group.age_band.under_30_years.recall"} <= set(
        metrics
    )

    # and the group table and the report read back from the Prefect API show the same
    flow_run_id = state.state_details.flow_run_id
    table = _artifact(flow_run_id, "retrain-groups")
    rows = table if isinstance(table, list) else json.loads(str(table))
    pensioners = next(r for r in rows if r["group"] == "pensioner")
    assert pensioners["challenger flagged"] == pytest.approx(
        metrics["group.pensioner.pensioner.selection_rate"], abs=1e-4
    )
    assert {r["attribute"] for r in rows} == {"sex", "age_band", "pensioner"}
    report = str(_artifact(flow_run_id, "retrain-report"))
    assert "**held**" in report and "## Who gets flagged" in report
