"""Drift of the served inputs and scores against a reference, measured with Evidently.

Pure: two frames in, one result per column out (the report's page is the monitor's own, of
aggregates). Evidently picks each column's test from its kind and the sample size (above 1,000 rows: the normed Wasserstein
distance for numbers, the Jensen-Shannon distance for categories, both with threshold 0.1;
below: Kolmogorov-Smirnov and chi² p-values at 0.05), so a large window flags a column by how far
its distribution moved, not by a p-value that any tiny shift makes small. Flags and the region
rating are categories; counts, amounts, days and the derived ratio are numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fraud_detection.core.contract import INPUTS
from fraud_detection.core.features import FEATURES
from fraud_detection.core.scored import PROBABILITY

if TYPE_CHECKING:
    import pandas as pd

CATEGORICAL: tuple[str, ...] = tuple(c.name for c in INPUTS if c.kind in ("flag", "rating"))
NUMERICAL: tuple[str, ...] = tuple(name for name in FEATURES if name not in CATEGORICAL)
DRIFT_METRIC = "evidently:metric_v2:ValueDrift"


@dataclass(frozen=True)
class ColumnDrift:
    """One column's drift: Evidently's method, its score and threshold, and the verdict."""

    column: str
    kind: str  # "numerical" | "categorical"
    method: str
    score: float
    threshold: float
    drifted: bool

    def as_row(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "kind": self.kind,
            "method": self.method,
            "score": round(self.score, 4),
            "threshold": self.threshold,
            "drifted": self.drifted,
        }


class NotComparable(ValueError):
    """The window's values are too few or too alike for Evidently's tests (one record, or one
    record posted over and over by a health probe)."""


@dataclass(frozen=True)
class DriftResult:
    """Drift of each of the 54 inputs and of the probability the champion served.

    The score is compared only over the records the champion itself scored (``score_rows`` of
    them): another version's scores in the window are not drift. ``score`` is None when the
    champion scored none of the window's records."""

    features: tuple[ColumnDrift, ...]
    score: ColumnDrift | None
    current_rows: int
    reference_rows: int
    score_rows: int = 0

    @property
    def drifted_features(self) -> list[str]:
        return [c.column for c in self.features if c.drifted]

    @property
    def drifted_share(self) -> float:
        return len(self.drifted_features) / len(self.features) if self.features else 0.0

    @property
    def score_drifted(self) -> bool:
        return self.score is not None and self.score.drifted


def _columns(snapshot: dict[str, Any]) -> dict[str, ColumnDrift]:
    """Column → its drift, from Evidently's snapshot (metric values and per-column tests)."""
    values = {m["id"]: m["value"] for m in snapshot["metrics"]}
    found = {}
    for test in snapshot["tests"]:
        params = test["metric_config"]["params"]
        if params.get("type") != DRIFT_METRIC:
            continue
        column = params["column"]
        found[column] = ColumnDrift(
            column=column,
            kind="categorical" if column in CATEGORICAL else "numerical",
            method=params["method"],
            score=float(values[test["metric_config"]["metric_id"]]),
            threshold=float(params["threshold"]),
            drifted=test["status"] == "FAIL",
        )
    return found


def _run(
    reference: pd.DataFrame, current: pd.DataFrame, columns: list[str]
) -> dict[str, ColumnDrift]:
    """Evidently's drift of ``columns`` (inputs or the probability) between two frames.

    Float64 in: Evidently bins float32 values of one large number (an income of 2,000,000 posted
    50 times) into bins narrower than float32 can tell apart, and raises."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset

    features = [c for c in columns if c != PROBABILITY]
    definition = DataDefinition(
        numerical_columns=[c for c in columns if c not in CATEGORICAL],
        categorical_columns=[c for c in columns if c in CATEGORICAL],
    )
    metrics: list[Any] = [DataDriftPreset(columns=features)] if features else []
    if PROBABILITY in columns:
        metrics.append(ValueDrift(column=PROBABILITY))
    try:
        snapshot = Report(metrics, include_tests=True).run(
            Dataset.from_pandas(
                current.loc[:, columns].astype("float64"), data_definition=definition
            ),
            Dataset.from_pandas(
                reference.loc[:, columns].astype("float64"), data_definition=definition
            ),
        )
    except ValueError as error:
        raise NotComparable(f"too few distinct values to compare ({error})") from error
    return _columns(snapshot.dict())


def measure_drift(
    reference: pd.DataFrame, current: pd.DataFrame, champion_scores: pd.Series | None = None
) -> DriftResult:
    """Drift of the 54 inputs (``current``: every version's records) and of the probability
    (``champion_scores``: the champion's own; default ``current``'s) against ``reference``."""
    scores = current[PROBABILITY] if champion_scores is None else champion_scores
    found = _run(reference, current, list(FEATURES))
    score = None
    if len(scores):
        served = scores.rename(PROBABILITY).to_frame()
        score = _run(reference, served, [PROBABILITY])[PROBABILITY]
    return DriftResult(
        features=tuple(found[name] for name in FEATURES),
        score=score,
        current_rows=len(current),
        reference_rows=len(reference),
        score_rows=len(scores),
    )
