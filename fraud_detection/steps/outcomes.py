"""The served model on the month's real outcomes: the labelled month joined to the captured
scores of its applications (rule in :mod:`fraud_detection.core.outcomes`), logged to the
challenger's run beside its holdout figures."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from fraud_detection.core.contract import ID_COLUMN
from fraud_detection.core.outcomes import SCORE_COLUMNS, LivePerformance, live_performance
from fraud_detection.steps.ports import ModelWriter, ScoredReader

RULE = "last score captured before the monthly run was scheduled, once per application"


def served_outcomes(
    scored: ScoredReader, labels: pd.DataFrame, *, cutoff: datetime
) -> LivePerformance:
    """Read only the scores of the month's applications (pyarrow filter), up to the cutoff day."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = pa.array(labels[ID_COLUMN].to_numpy(dtype="int64"))
    table = scored.read(
        until=cutoff.date(), columns=SCORE_COLUMNS, where=pc.field(ID_COLUMN).isin(ids)
    )
    return live_performance(labels, table.to_pandas(), cutoff=cutoff)


def record_outcomes(registry: ModelWriter, run_id: str, live: LivePerformance) -> None:
    """Counts and live metrics per served version on the challenger's run."""
    registry.log_to_run(run_id, metrics=live.metrics(), tags={"live_rule": RULE})
