"""Each group's live figures: the month's labels joined to the captured scores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.config import Settings
from fraud_detection.core.contract import NOT_EMPLOYED
from fraud_detection.core.features import FEATURES
from fraud_detection.core.scored import SCORED_COLUMNS
from fraud_detection.steps.live_groups import live_group_metrics, live_groups_section, served_groups


def test_live_figures_per_group_count_each_application_by_its_last_captured_score(
    settings: Settings, tmp_path: Path
) -> None:
    t0 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
    labels = pd.DataFrame(
        {
            "SK_ID_CURR": [1, 2, 3, 4],
            "TARGET": [0, 0, 1, 0],
            "DAYS_EMPLOYED": [NOT_EMPLOYED.value, NOT_EMPLOYED.value, -300, -300],
            "CODE_GENDER": [0, 1, 0, 1],
            "DAYS_BIRTH": [-70 * 365, -65 * 365, -25 * 365, -40 * 365],
        }
    )
    # 1 flagged, then scored again not flagged (the last counts); 2 flagged; 3 flagged; 4 never
    scores = pd.DataFrame(
        [(1, t0, 0.9, True), (1, t0 + timedelta(days=1), 0.1, False), (2, t0, 0.8, True),
         (3, t0, 0.7, True)],
        columns=["SK_ID_CURR", "scored_at", "probability", "is_fraud"],
    )  # fmt: skip
    store = ScoredStore(Lake(str(tmp_path / "lake")))
    store.write(_captured(scores), "test-writer")

    figures = {
        f.attribute: f
        for f in served_groups(settings, store, labels, cutoff=t0 + timedelta(days=5))
    }

    pensioners = figures["pensioner"].level("pensioner")
    assert pensioners is not None and pensioners.rows == 2
    assert pensioners.figures["false_positive_rate"] == 0.5  # 2 flagged, 1 not (its last score)
    others = figures["pensioner"].level("not pensioner")
    assert others is not None and others.rows == 1 and others.figures["recall"] == 1.0
    metrics = live_group_metrics(tuple(figures.values()))
    assert metrics["live_group.pensioner.pensioner.false_positive_rate"] == 0.5
    assert "| pensioner | pensioner | 2 |" in live_groups_section(tuple(figures.values()))
    assert "No captured scores" in live_groups_section(())


def _captured(frame: pd.DataFrame) -> pa.Table:
    """Scores as the service writes them: every column of the captured table."""
    n = len(frame)
    data: dict[str, object] = {
        "request_id": [f"req-{i}" for i in range(n)],
        **{name: np.ones(n, dtype=np.float32) for name in FEATURES},
        "risk_level": ["low_risk"] * n,
        "model_version": ["1"] * n,
        "threshold": [0.5] * n,
        "endpoint": ["/predict"] * n,
        **{c: frame[c].tolist() for c in frame.columns},
    }
    return pa.table({name: data[name] for name in SCORED_COLUMNS})
