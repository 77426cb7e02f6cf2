"""The data alarm: did the champion's ranking collapse on the new month, or its fraud rate jump?

Genuine drift lowers the champion's ranking quality a little (a new pattern it misses); garbage
labels (shuffled, or inverted for a segment) take it towards chance. A month that raises the
alarm is quarantined, whatever the challenger scores.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from sklearn.metrics import roc_auc_score


@dataclass(frozen=True)
class Alarm:
    """The alarm's verdict on a month, with the figures behind it (for the report)."""

    raised: bool
    reason: str
    champion_roc_auc: float | None
    reference_roc_auc: float | None
    fraud_rate: float
    reference_fraud_rate: float | None


def auc_standard_error(auc: float, y: np.ndarray) -> float:
    """Hanley & McNeil's standard error of a ROC-AUC measured on labels ``y``."""
    positives = int(np.sum(y))
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return math.inf
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = (
        auc * (1 - auc) + (positives - 1) * (q1 - auc**2) + (negatives - 1) * (q2 - auc**2)
    ) / (positives * negatives)
    return math.sqrt(max(variance, 0.0))


def data_alarm(
    y: np.ndarray,
    p_champion: np.ndarray | None,
    *,
    reference_roc_auc: list[float],
    reference_fraud_rates: list[float],
    max_auc_drop: float,
    max_rate_factor: float,
) -> Alarm:
    """Did the champion's ranking collapse on this month, or its fraud rate jump, beyond history?

    Genuine drift lowers the champion's ranking quality a little (a new pattern it misses);
    garbage labels take it towards chance. The reference is the champion's quality on recent
    months (median), so one noisy month does not set it.
    """
    y = np.asarray(y)
    rate = float(np.mean(y)) if len(y) else 0.0
    auc = None
    if p_champion is not None and len(np.unique(y)) == 2:
        auc = float(roc_auc_score(y, p_champion))
    ref_auc = statistics.median(reference_roc_auc) if reference_roc_auc else None
    ref_rate = statistics.median(reference_fraud_rates) if reference_fraud_rates else None
    problems = []
    # Confidently more than ``max_auc_drop`` below: a small holdout's noise alone never rings.
    upper = None if auc is None else auc + NormalDist().inv_cdf(0.95) * auc_standard_error(auc, y)
    if upper is not None and ref_auc is not None and upper < ref_auc - max_auc_drop:
        problems.append(
            f"the champion's ROC-AUC on this month's holdout fell to {auc:.3f} (at most "
            f"{upper:.3f} with 95 % confidence) from {ref_auc:.3f} on recent months "
            f"(more than {max_auc_drop:g} lower)"
        )
    if ref_rate and rate > 0 and not (1 / max_rate_factor <= rate / ref_rate <= max_rate_factor):
        problems.append(
            f"the fraud rate is {rate:.1%} against {ref_rate:.1%} in recent months "
            f"(more than {max_rate_factor:g}× apart)"
        )
    reason = (
        "Data alarm: " + "; and ".join(problems) + ". The labels of this month look wrong."
        if problems
        else "No data alarm."
    )
    return Alarm(bool(problems), reason, auc, ref_auc, rate, ref_rate)
