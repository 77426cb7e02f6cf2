"""The promotion gate and the data alarm: pure functions of labels and scores.

The gate compares two models on the very same held-out rows with a per-row paired difference of
a proper score (log-loss by default). Each row gives ``loss(challenger) − loss(champion)``; the
mean of those differences and its one-sided upper confidence bound decide:

- non-inferiority (default): promote unless the challenger may be worse than the champion by
  more than ``tolerance`` (a share of the champion's loss); i.e. promote when the upper bound
  < tolerance × champion loss.
- superiority: promote only when the challenger is better by at least ``margin`` with
  confidence; i.e. promote when the upper bound < −margin × champion loss.

Both models' probabilities are first corrected to the holdout's class prior (each model may have
been trained with positives weighted up), so the comparison is about ranking and shape, not about
which prior a model was trained at.

The data alarm asks whether the champion's own ranking collapsed on the new month (garbage
labels: shuffled, or inverted for a segment), or whether the fraud rate jumped far beyond what
history shows. A month that raises it is quarantined, whatever the challenger scores.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np
from sklearn.metrics import roc_auc_score

GateMode = Literal["non_inferiority", "superiority"]
GateStatistic = Literal["log_loss", "brier"]
EPSILON = 1e-6


@dataclass(frozen=True)
class GateRule:
    mode: GateMode = "non_inferiority"
    statistic: GateStatistic = "log_loss"
    # Both as a share of the champion's loss on the holdout, so they mean the same at any
    # fraud rate. Non-inferiority: how much worse still counts as "as good" (the judged challenger
    # trained on part of the month; the model served after a promotion is refitted on all of it).
    tolerance: float = 0.025
    margin: float = 0.0  # superiority: how much better the challenger must be
    confidence: float = 0.95  # one-sided

    def bound(self, champion_loss: float) -> float:
        """The upper confidence bound of loss(challenger) − loss(champion) must stay below this."""
        share = self.tolerance if self.mode == "non_inferiority" else -self.margin
        return share * champion_loss

    def describe(self) -> str:
        name = self.statistic.replace("_", "-")
        if self.mode == "non_inferiority":
            return (
                f"promote unless the challenger's {name} may be worse than the champion's by more "
                f"than {self.tolerance:.1%} ({self.confidence:.0%} one-sided)"
            )
        return (
            f"promote only if the challenger's {name} is better than the champion's by at least "
            f"{self.margin:.1%} ({self.confidence:.0%} one-sided)"
        )


@dataclass(frozen=True)
class PairedTest:
    """Mean of per-row loss(challenger) − loss(champion) (negative = challenger better)."""

    statistic: str
    difference: float
    upper: float  # one-sided upper confidence bound
    lower: float  # the matching lower bound (for the report)
    champion_loss: float
    challenger_loss: float
    rows: int

    def as_dict(self) -> dict[str, float | str | int]:
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str  # one sentence: rule, estimate, interval, verdict
    verdict: str = ""  # "promoted" | "rejected" | "quarantined"

    def __post_init__(self) -> None:
        if not self.verdict:
            object.__setattr__(self, "verdict", "promoted" if self.promote else "rejected")


def prior_corrected(
    probability: np.ndarray, *, trained_rate: float, target_rate: float
) -> np.ndarray:
    """Move probabilities from the class prior a model was trained at to ``target_rate``."""
    p = np.clip(np.asarray(probability, dtype=np.float64), EPSILON, 1 - EPSILON)
    if trained_rate <= 0 or trained_rate >= 1 or target_rate <= 0 or target_rate >= 1:
        return p
    shift = (target_rate / (1 - target_rate)) / (trained_rate / (1 - trained_rate))
    odds = p / (1 - p) * shift
    return odds / (1 + odds)


def row_losses(y: np.ndarray, probability: np.ndarray, statistic: GateStatistic) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    p = np.clip(np.asarray(probability, dtype=np.float64), EPSILON, 1 - EPSILON)
    losses: np.ndarray
    if statistic == "log_loss":
        losses = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        return losses
    if statistic == "brier":
        losses = (p - y) ** 2
        return losses
    raise ValueError(f"unknown gate statistic {statistic!r}")


def paired_test(
    y: np.ndarray,
    p_champion: np.ndarray,
    p_challenger: np.ndarray,
    *,
    statistic: GateStatistic = "log_loss",
    confidence: float = 0.95,
) -> PairedTest:
    """Mean paired per-row difference and its one-sided normal interval (n is thousands)."""
    old = row_losses(y, p_champion, statistic)
    new = row_losses(y, p_challenger, statistic)
    differences = new - old
    n = len(differences)
    mean = float(np.mean(differences))
    spread = float(np.std(differences, ddof=1)) if n > 1 else math.inf
    half = NormalDist().inv_cdf(confidence) * spread / math.sqrt(max(n, 1))
    return PairedTest(
        statistic=statistic,
        difference=mean,
        upper=mean + half,
        lower=mean - half,
        champion_loss=float(np.mean(old)),
        challenger_loss=float(np.mean(new)),
        rows=n,
    )


def decide(
    y: np.ndarray,
    p_champion: np.ndarray | None,
    p_challenger: np.ndarray,
    rule: GateRule,
) -> tuple[Decision, PairedTest | None]:
    """Apply the gate to prior-corrected probabilities of both models on the same rows."""
    if p_champion is None:
        return Decision(True, "There is no champion yet, so the challenger becomes champion."), None
    if len(np.unique(y)) < 2:
        return (
            Decision(
                False,
                "The holdout holds a single class, so it cannot tell the models apart; "
                "the champion is kept.",
            ),
            None,
        )
    test = paired_test(
        y, p_champion, p_challenger, statistic=rule.statistic, confidence=rule.confidence
    )
    bound = rule.bound(test.champion_loss)
    promote = test.upper < bound
    name = rule.statistic.replace("_", "-")
    sentence = (
        f"Rule: {rule.describe()}. Challenger − champion {name} per application: "
        f"{test.difference:+.5f} (upper bound {test.upper:+.5f}, interval {test.lower:+.5f} … "
        f"{test.upper:+.5f}, {test.rows} rows); the bound is "
        f"{'below' if promote else 'not below'} {bound:+.5f}, so the challenger is "
        f"{'promoted' if promote else 'rejected and the champion kept'}."
    )
    return Decision(promote, sentence), test


# -- data alarm ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Alarm:
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
    max_auc_drop: float = 0.10,
    max_rate_factor: float = 2.0,
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
