"""The served model on real outcomes (core/outcomes.py, steps/outcomes.py, the report section),
checked against a hand computation that includes applications scored twice, a score given after
the cutoff, applications never scored and a score of an application outside the month."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.core.features import FEATURES
from fraud_detection.core.outcomes import live_performance
from fraud_detection.core.scored import SCORED_COLUMNS
from fraud_detection.steps import outcomes
from fraud_detection.steps.report import live_section
from tests.support.fakes import InMemoryRegistry, Run

T0 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
CUTOFF = T0 + timedelta(days=5)
LABELS = pd.DataFrame({"SK_ID_CURR": [1, 2, 3, 4, 5, 6, 7, 8], "TARGET": [1, 0, 1, 1, 0, 1, 0, 0]})
# (application, when, probability, version); v1 serves at threshold 0.5, v2 at 0.4
SCORES = [
    (1, T0, 0.9, "1"),  # v1 flags a fraud: TP
    (2, T0, 0.6, "1"),  # v1 flags a non-fraud … but the application is scored again:
    (2, T0 + timedelta(days=2), 0.1, "2"),  # … the last score counts: v2, not flagged: TN
    (3, T0, 0.2, "1"),  # v1 misses a fraud: FN
    (4, T0 + timedelta(days=1), 0.3, "2"),  # v2 misses a fraud: FN
    (6, T0 + timedelta(days=1), 0.7, "2"),  # v2 flags a fraud: TP
    (6, CUTOFF + timedelta(hours=1), 0.1, "2"),  # after the cutoff: not read
    (7, T0 + timedelta(days=1), 0.5, "2"),  # v2 flags a non-fraud: FP
    (99, T0, 0.9, "1"),  # not an application of the month
]  # applications 5 and 8 were never scored
THRESHOLDS = {"1": 0.5, "2": 0.4}


def _scores() -> pd.DataFrame:
    rows = pd.DataFrame(SCORES, columns=["SK_ID_CURR", "scored_at", "probability", "model_version"])
    rows["threshold"] = rows["model_version"].map(THRESHOLDS)
    rows["is_fraud"] = rows["probability"] >= rows["threshold"]
    return rows


def test_live_performance_counts_each_application_once_by_its_last_score_before_the_cutoff() -> (
    None
):
    live = live_performance(LABELS, _scores(), cutoff=CUTOFF)
    # By hand: matched 1,2,3,4,6,7; never scored 5,8; seven scores read (2 twice; 6's second
    # is after the cutoff; 99 is not in the month)
    assert (live.labelled, live.matched, live.unmatched) == (8, 6, 2)
    assert (live.scores_read, live.rescored) == (7, 1)
    v1, v2 = live.by_version
    # v1's last scores: 1 (TP), 3 (FN)
    assert (v1.version, v1.matched, v1.tp, v1.fp, v1.fn) == ("1", 2, 1, 0, 1)
    assert v1.precision == 1.0 and v1.recall == 0.5 and v1.f1 == pytest.approx(2 / 3)
    assert v1.pr_auc is None  # one class among its applications
    assert v1.brier == pytest.approx(((0.9 - 1) ** 2 + (0.2 - 1) ** 2) / 2)
    assert v1.threshold == 0.5 and v1.flagged_share == 0.5
    # v2's last scores: 2 (TN), 4 (FN), 6 (TP), 7 (FP)
    assert (v2.version, v2.matched, v2.tp, v2.fp, v2.fn) == ("2", 4, 1, 1, 1)
    assert v2.precision == 0.5 and v2.recall == 0.5 and v2.f1 == 0.5
    # ranked .7 (fraud) .5 .3 (fraud) .1: AP = ½·1 + ½·⅔
    assert v2.pr_auc == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert v2.brier == pytest.approx((0.1**2 + 0.7**2 + 0.3**2 + 0.5**2) / 4)
    assert v2.flagged_share == 0.5
    everything = live.overall
    assert everything is not None and (everything.tp, everything.fp, everything.fn) == (2, 1, 2)
    assert everything.precision == pytest.approx(2 / 3) and everything.recall == 0.5
    assert everything.f1 == pytest.approx(4 / 7) and everything.threshold is None
    metrics = live.metrics()
    assert metrics["live_v1_precision"] == 1.0 and metrics["live_v2_recall"] == 0.5
    assert metrics["live_all_f1"] == pytest.approx(4 / 7) and metrics["live_unmatched"] == 2
    assert "live_v1_pr_auc" not in metrics  # undefined, so not logged as a number


def test_without_captured_scores_every_application_is_unmatched_and_the_report_says_so() -> None:
    live = live_performance(LABELS, _scores().iloc[0:0], cutoff=CUTOFF)
    assert (live.matched, live.unmatched, live.overall, live.by_version) == (0, 8, None, ())
    section = live_section(live)
    assert "No captured scores for this month's applications (8 labelled" in section
    assert "No captured scores" in live_section(None)


def test_the_report_section_shows_each_served_version_and_the_rule() -> None:
    section = live_section(live_performance(LABELS, _scores(), cutoff=CUTOFF))
    assert "6 of 8 labelled applications were scored by the service (2 never were)" in section
    assert "scored more than once (1) count once: the last score captured before" in section
    assert "| v1 | 2 | 1.0000 | 0.5000 | 0.6667 | – |" in section
    assert "| v2 | 4 | 0.5000 | 0.5000 | 0.5000 | 0.8333 |" in section
    assert "| all | 6 | 0.6667 | 0.5000 | 0.5714 |" in section


def _captured(frame: pd.DataFrame) -> pa.Table:
    """Scores as the service writes them: every column of the captured table."""
    n = len(frame)
    data: dict[str, object] = {
        "request_id": [f"req-{i}" for i in range(n)],
        "scored_at": frame["scored_at"].tolist(),
        "SK_ID_CURR": frame["SK_ID_CURR"].tolist(),
        **{name: np.ones(n, dtype=np.float32) for name in FEATURES},
        "probability": frame["probability"].tolist(),
        "risk_level": ["low_risk"] * n,
        "is_fraud": frame["is_fraud"].tolist(),
        "model_version": frame["model_version"].tolist(),
        "threshold": frame["threshold"].tolist(),
        "endpoint": ["/predict"] * n,
    }
    return pa.table({name: data[name] for name in SCORED_COLUMNS})


def test_the_step_reads_the_month_s_scores_from_the_lake_and_logs_them_to_the_run(
    tmp_path: Path,
) -> None:
    store = ScoredStore(Lake(str(tmp_path / "lake")))
    store.write(_captured(_scores()), "test-writer")
    assert len(store.days()) == 4  # the scores span four days

    live = outcomes.served_outcomes(store, LABELS, cutoff=CUTOFF)

    assert live == live_performance(LABELS, _scores(), cutoff=CUTOFF)
    registry = InMemoryRegistry(runs={"run-1": Run("challenger")})
    outcomes.record_outcomes(registry, "run-1", live)
    logged = registry.runs["run-1"]
    assert logged.metrics == live.metrics() and logged.tags["live_rule"] == outcomes.RULE
