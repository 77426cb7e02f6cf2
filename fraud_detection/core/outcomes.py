"""The served model measured on real outcomes (pure): a labelled month joined, by
``SK_ID_CURR``, to the scores the service captured for the same applications.

One score per application: an application scored several times counts once, with the **last
score captured before the cutoff** (the start of the monthly run that judges the month), and
is credited to the version that gave that score. Applications of the month that were never
scored are counted as unmatched; scores of applications outside the month are not read.
Decisions are the ones served (``is_fraud``: the probability against that version's own
threshold), so precision, recall and F1 are those the applicants met.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss

from fraud_detection.core.contract import ID_COLUMN, TARGET_COLUMN
from fraud_detection.core.scored import IS_FRAUD, MODEL_VERSION, PROBABILITY, SCORED_AT, THRESHOLD

SCORE_COLUMNS = (ID_COLUMN, SCORED_AT, PROBABILITY, IS_FRAUD, MODEL_VERSION, THRESHOLD)
ALL_VERSIONS = "all"


@dataclass(frozen=True)
class LiveMetrics:
    """One version's (or all versions') served decisions against the outcomes."""

    version: str  # a model version, or "all"
    matched: int  # labelled applications whose last score came from this version
    positives: int
    flagged: int  # served decision: fraud
    tp: int
    fp: int
    fn: int
    pr_auc: float | None  # undefined when the matched rows hold one class
    brier: float
    threshold: float | None  # the served threshold (None across versions with different ones)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        return (
            2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp + self.fp + self.fn else 0.0
        )

    @property
    def flagged_share(self) -> float:
        return self.flagged / self.matched if self.matched else 0.0

    def metrics(self) -> dict[str, float]:
        """As logged to MLflow (PR-AUC left out when undefined)."""
        found = {
            "matched": float(self.matched),
            "positives": float(self.positives),
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "brier": self.brier,
            "flagged_share": self.flagged_share,
        }
        if self.pr_auc is not None:
            found["pr_auc"] = self.pr_auc
        if self.threshold is not None:
            found["threshold"] = self.threshold
        return found


@dataclass(frozen=True)
class LivePerformance:
    """A labelled month against the scores it was served: counts, and metrics per version."""

    labelled: int  # applications in the month
    matched: int  # of which scored by the service (before the cutoff)
    scores_read: int  # captured scores of those applications before the cutoff
    rescored: int  # applications scored more than once (each counted once)
    by_version: tuple[LiveMetrics, ...]
    overall: LiveMetrics | None  # every matched application, whichever version served it

    @property
    def unmatched(self) -> int:
        return self.labelled - self.matched

    def metrics(self) -> dict[str, float]:
        """Flat MLflow metrics: ``live_<counts>``, ``live_all_<metric>``, ``live_v<N>_<metric>``."""
        found = {
            "live_labelled": float(self.labelled),
            "live_matched": float(self.matched),
            "live_unmatched": float(self.unmatched),
            "live_scores_read": float(self.scores_read),
            "live_rescored": float(self.rescored),
        }
        for row in (*self.by_version, *([self.overall] if self.overall else [])):
            prefix = "live_all_" if row.version == ALL_VERSIONS else f"live_v{row.version}_"
            found |= {prefix + k: v for k, v in row.metrics().items()}
        return found


def last_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per application: its last score (records without an id are left out)."""
    kept = scores.dropna(subset=[ID_COLUMN])
    # Ties in time (one request scoring an application twice) keep the later row.
    ordered = kept.sort_values(SCORED_AT, kind="stable")
    return ordered.drop_duplicates(subset=[ID_COLUMN], keep="last")


def _version_order(version: str) -> tuple[int, str]:
    return (len(version), version)  # "9" before "10"


def _measure(version: str, rows: pd.DataFrame) -> LiveMetrics:
    y = rows[TARGET_COLUMN].to_numpy(dtype=np.int64)
    flagged = rows[IS_FRAUD].to_numpy(dtype=bool)
    probability = rows[PROBABILITY].to_numpy(dtype=np.float64)
    thresholds = rows[THRESHOLD].unique()
    return LiveMetrics(
        version=version,
        matched=len(rows),
        positives=int(y.sum()),
        flagged=int(flagged.sum()),
        tp=int((flagged & (y == 1)).sum()),
        fp=int((flagged & (y == 0)).sum()),
        fn=int((~flagged & (y == 1)).sum()),
        pr_auc=float(average_precision_score(y, probability)) if len(set(y)) == 2 else None,
        brier=float(brier_score_loss(y, probability, pos_label=1)),
        threshold=float(thresholds[0]) if len(thresholds) == 1 else None,
    )


def live_performance(
    labels: pd.DataFrame, scores: pd.DataFrame, *, cutoff: datetime | None
) -> LivePerformance:
    """Join the month's labels (SK_ID_CURR, TARGET) to its applications' captured scores."""
    month = labels.loc[:, [ID_COLUMN, TARGET_COLUMN]].astype({ID_COLUMN: "int64"})
    ours = scores[scores[ID_COLUMN].isin(month[ID_COLUMN])]
    if cutoff is not None:
        ours = ours[ours[SCORED_AT] < pd.Timestamp(cutoff)]
    last = last_scores(ours).astype({ID_COLUMN: "int64"})
    joined = month.merge(last, on=ID_COLUMN, how="inner")
    counts = ours[ID_COLUMN].value_counts()
    by_version = tuple(
        _measure(str(version), rows)
        for version, rows in sorted(
            joined.groupby(MODEL_VERSION), key=lambda g: _version_order(str(g[0]))
        )
    )
    return LivePerformance(
        labelled=len(month),
        matched=len(joined),
        scores_read=len(ours),
        rescored=int((counts > 1).sum()),
        by_version=by_version,
        overall=_measure(ALL_VERSIONS, joined) if len(joined) else None,
    )
