"""The promotion gate: a pure function of labels and two models' scores.

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
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np

from fraud_detection.core.params import GateRule, GateStatistic
from fraud_detection.core.tags import Verdict

EPSILON = 1e-6


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
    """What the month's run does with its challenger, and why in one sentence."""

    verdict: Verdict
    reason: str  # one sentence: rule, estimate, interval, verdict

    @property
    def promote(self) -> bool:
        return self.verdict is Verdict.PROMOTED

    @classmethod
    def of_gate(cls, promote: bool, reason: str) -> Decision:
        return cls(Verdict.PROMOTED if promote else Verdict.REJECTED, reason)


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
        return Decision.of_gate(
            True, "There is no champion yet, so the challenger becomes champion."
        ), None
    if len(np.unique(y)) < 2:
        return (
            Decision.of_gate(
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
    return Decision.of_gate(promote, sentence), test
