"""The recipe's knobs as small frozen values: XGBoost's hyper-parameters, how training weighs
history against the newest months, and the promotion gate's rule.

Light on purpose (no NumPy, no XGBoost): :mod:`fraud_detection.config` builds them from the
environment, and the CLI reads settings without paying for the science stack. Their defaults
are stated once, in :class:`fraud_detection.config.Settings` (the original's hyper-parameters
here, as they are a whole).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

GateMode = Literal["non_inferiority", "superiority"]
GateStatistic = Literal["log_loss", "brier"]


class XGBoostParams(BaseModel):
    """The original model's hyper-parameters (the original system's, kept as they were)."""

    model_config = {"frozen": True}

    learning_rate: float = 0.1
    max_depth: int = 7
    min_child_weight: float = 25
    subsample: float = 0.9
    colsample_bytree: float = 0.6
    n_estimators: int = 100
    tree_method: str = "hist"
    n_jobs: int = 0  # 0 = all cores


@dataclass(frozen=True)
class TrainingPlan:
    """How training weighs history against the newest months (see core/training.py)."""

    history_half_life: float  # months; 0 = every month counts the same
    recent_months: int  # months (newest first) that the correction stage learns from
    recent_half_life: float
    correction_rounds: int  # 0 = no correction stage
    correction_learning_rate: float
    correction_max_depth: int
    train_positive_rate: float  # positives weighted up to this share (≤ natural: no-op)
    validation_fraction: float  # of the newest part, for the threshold
    excluded_inputs: tuple[str, ...] = ()  # contract features left out on purpose


@dataclass(frozen=True)
class GateRule:
    """When a challenger replaces the champion (see core/gate.py).

    Tolerance and margin are shares of the champion's loss on the holdout, so they mean the same
    at any fraud rate. Non-inferiority: how much worse still counts as "as good" (the judged
    challenger trained on part of the month; the model served after a promotion is refitted on
    all of it). Superiority: how much better the challenger must be.
    """

    mode: GateMode
    statistic: GateStatistic
    tolerance: float
    margin: float
    confidence: float  # one-sided

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
class MonitorLimits:
    """How far the served traffic may move before the monitor raises its event."""

    max_drifted_share: float  # share of the 54 inputs whose distribution moved
    alert_on_score_drift: bool  # the distribution of the served probabilities moved
    max_rejected_rate: float  # share of requests refused with a 4xx
