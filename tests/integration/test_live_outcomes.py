"""The monthly flow measures the served model on the month's real outcomes: what it logs to the
challenger's run equals a hand computation on the same joined rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
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
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.adapters.stores import open_registry
from tests.support.flows import seed_lake, use_data_dir
from tests.support.traffic import captured, shifted

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_harness")]


def _hand_computed(records: list[dict[str, object]], labels: dict[int, int], cutoff: datetime) -> dict[str, float]:  # fmt: skip
    """Precision, recall and F1 by counting, one application at a time: its last score before
    the cutoff decides; applications never scored before it are unmatched."""
    last: dict[int, dict[str, object]] = {}
    for record in records:
        app, at = int(record["SK_ID_CURR"]), record["scored_at"]
        if app in labels and at < cutoff and (app not in last or at >= last[app]["scored_at"]):
            last[app] = record
    tp = sum(1 for a, r in last.items() if r["is_fraud"] and labels[a] == 1)
    fp = sum(1 for a, r in last.items() if r["is_fraud"] and labels[a] == 0)
    fn = sum(1 for a, r in last.items() if not r["is_fraud"] and labels[a] == 1)
    return {
        "matched": len(last),
        "unmatched": len(labels) - len(last),
        "precision": tp / (tp + fp),
        "recall": tp / (tp + fn),
        "f1": 2 * tp / (2 * tp + fp + fn),
    }


def test_live_precision_recall_f1_logged_by_the_flow_equal_a_hand_computation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a champion, and a labelled month of which the service scored 600 applications:
    # 100 of them twice (first with amended inputs, then as delivered), 30 others only after
    # the monthly run began (not counted), the rest never
    settings = use_data_dir(monkeypatch, tmp_path / "data")
    month = seed_lake(settings, months=1)[0]
    bootstrap()
    registry = open_registry(settings)
    champion = registry.champion()
    assert champion is not None
    booster = registry.load_booster(champion.version)
    lake = Lake.from_settings(settings)
    applications = lake.read(month)
    now = datetime.now(UTC)
    score = {"version": champion.version, "threshold": champion.tags.threshold_or(0.25)}
    batches = [
        captured(
            applications.iloc[:100].pipe(shifted),
            booster,
            scored_at=now - timedelta(hours=3),
            **score,
        ),
        captured(applications.iloc[:600], booster, scored_at=now - timedelta(hours=2), **score),
        captured(applications.iloc[600:630], booster, scored_at=now + timedelta(days=1), **score),
    ]
    store = ScoredStore(lake)
    for batch in batches:
        store.write(batch, "test")
    records = pa.concat_tables(batches).to_pylist()
    labels = dict(zip(applications["SK_ID_CURR"], applications["TARGET"], strict=True))

    # When the month's run judges it
    state = monthly_retrain(month=month, return_state=True)

    # Then the challenger's run holds the served model's live figures, equal to the hand count
    assert state.is_completed(), state.message
    result = state.result()
    run_id = registry.version(result["challenger_version"]).run_id
    logged = registry.client.get_run(run_id).data.metrics
    # (the run's cutoff, when it was scheduled, falls between the scores before and after it)
    expected = _hand_computed(records, labels, cutoff=datetime.now(UTC))
    assert (logged["live_matched"], logged["live_unmatched"]) == (600, len(applications) - 600)
    assert (expected["matched"], logged["live_rescored"], logged["live_scores_read"]) == (600, 100, 700)  # fmt: skip
    v = champion.version
    for name in ("precision", "recall", "f1"):
        assert logged[f"live_v{v}_{name}"] == pytest.approx(expected[name]), name
        assert logged[f"live_all_{name}"] == pytest.approx(expected[name]), name
    assert result["live_matched"] == 600
    # and the month's report shows them beside the challenger's holdout figures
    with get_client(sync_client=True) as client:
        (artifact,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]),
                key=ArtifactFilterKey(any_=["retrain-report"]),
            )
        )
    report = str(artifact.data)
    assert report.index("| metric | champion | challenger |") < report.index(
        "## The served model on this month's outcomes"
    )
    assert f"600 of {len(applications):,} labelled applications were scored" in report
    assert f"| v{v} | 600 | {expected['precision']:.4f} | {expected['recall']:.4f} |" in report
