"""Drift of the served inputs and scores against a reference, measured with Evidently.

Pure: two frames in, one result per column and Evidently's HTML report out. Evidently picks each
column's test from its kind and the sample size (above 1,000 rows: the normed Wasserstein
distance for numbers, the Jensen-Shannon distance for categories, both with threshold 0.1;
below: Kolmogorov-Smirnov and chi² p-values at 0.05), so a large window flags a column by how far
its distribution moved, not by a p-value that any tiny shift makes small. Flags and the region
rating are categories; counts, amounts, days and the derived ratio are numbers. Histograms in
the report are aggregated: it holds no record.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class DriftResult:
    """Drift of each of the 54 inputs and of the served probability; the report as HTML."""

    features: tuple[ColumnDrift, ...]
    score: ColumnDrift
    current_rows: int
    reference_rows: int
    html: str = field(repr=False)

    @property
    def drifted_features(self) -> list[str]:
        return [c.column for c in self.features if c.drifted]

    @property
    def drifted_share(self) -> float:
        return len(self.drifted_features) / len(self.features) if self.features else 0.0


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


def measure_drift(reference: pd.DataFrame, current: pd.DataFrame) -> DriftResult:
    """Drift of the 54 inputs and of ``probability`` between two frames holding both."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset

    columns = [*FEATURES, PROBABILITY]
    definition = DataDefinition(
        numerical_columns=[*NUMERICAL, PROBABILITY], categorical_columns=list(CATEGORICAL)
    )
    report = Report(
        [DataDriftPreset(columns=list(FEATURES)), ValueDrift(column=PROBABILITY)],
        include_tests=True,
    )
    snapshot = report.run(
        Dataset.from_pandas(current.loc[:, columns], data_definition=definition),
        Dataset.from_pandas(reference.loc[:, columns], data_definition=definition),
    )
    found = _columns(snapshot.dict())
    return DriftResult(
        features=tuple(found[name] for name in FEATURES),
        score=found[PROBABILITY],
        current_rows=len(current),
        reference_rows=len(reference),
        html=snapshot.get_html_str(as_iframe=False),
    )


def marked_html(report: str, headline: str) -> str:
    """Evidently's page with the monitor's headline above it (a report past the limits says so)."""
    banner = (
        '<div style="font:16px sans-serif;padding:12px 16px;border-bottom:1px solid #ccc">'
        f"{html.escape(headline)}</div>"
    )
    head, body, rest = report.partition("<body>")
    return f"{head}{body}{banner}{rest}" if body else banner + report
