"""How much more likely the challenger scores one group than the champion did, beyond the rest:
the within-group mean change of the log-odds (challenger − champion) minus the rest's, on the
same holdout rows, with a paired bootstrap interval.

No label and no threshold: a model trained on labels biased against a group raises that group's
scores even where the cut of the share flagged does not move (a prior correction adds the same
constant to every row's log-odds, so it cancels between group and rest)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fraud_detection.core.groups import weighted_means

EPSILON = 1e-6
INTERVAL = (0.025, 0.975)


@dataclass(frozen=True)
class ScoreShift:
    """One group's mean log-odds change beyond the rest's (``excess``) and its 95 % interval."""

    level: str
    group: float  # mean change of log-odds within the group
    rest: float  # mean change of log-odds for every applicant not in the group
    excess: float
    low: float
    high: float


def log_odds(probability: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(probability, dtype=np.float64), EPSILON, 1 - EPSILON)
    odds: np.ndarray = np.log(p / (1 - p))
    return odds


def score_shifts(
    levels: np.ndarray,
    challenger: np.ndarray,
    champion: np.ndarray,
    weights: np.ndarray,
) -> list[ScoreShift]:
    """Per level: the group's mean log-odds change minus the rest's, paired on the same rows
    (``weights``: Poisson bootstrap weights, resamples × rows)."""
    change = (log_odds(challenger) - log_odds(champion)).astype(np.float32)
    shifts = []
    for level in sorted(set(levels.tolist())):
        group = levels == level
        rest = ~group
        if not group.any() or not rest.any():
            continue
        inside, outside = float(change[group].mean()), float(change[rest].mean())
        samples = weighted_means(weights, change, group) - weighted_means(weights, change, rest)
        finite = samples[np.isfinite(samples)]
        low, high = (
            (float("nan"), float("nan")) if not len(finite) else np.quantile(finite, INTERVAL)
        )
        shifts.append(
            ScoreShift(str(level), inside, outside, inside - outside, float(low), float(high))
        )
    return shifts
