"""The threshold that flags as many applications as the fraud team can investigate.

A threshold chosen for F1 moves the number of flags with every promotion and every drift of the
fraud rate; the team's capacity does not move. With a capacity, the threshold is the score
above which that share of recent applications lies (scored by the model being cut)."""

from __future__ import annotations

import numpy as np

DAYS_A_WEEK = 7.0


def capacity_threshold(probability: np.ndarray, share: float) -> float:
    """The score that flags ``share`` of ``probability`` (flagged: probability ≥ threshold).

    The k-th largest score with k = share × rows rounded (at least one flag), so exactly k rows
    are flagged when the scores have no ties there."""
    if not 0 < share < 1:
        raise ValueError(f"a capacity share must be between 0 and 1, not {share}")
    scores = np.asarray(probability, dtype=np.float64)
    if not len(scores):
        raise ValueError("no scores to cut a capacity threshold on")
    flags = max(1, round(share * len(scores)))
    return float(np.sort(scores)[::-1][flags - 1])


def share_flagged(probability: np.ndarray, threshold: float) -> float:
    """The share of scores a threshold flags."""
    scores = np.asarray(probability)
    return float(np.mean(scores >= threshold)) if len(scores) else 0.0


def weekly_share(per_week: int, records: int, days: float) -> float:
    """A capacity in applications a week as a share of the traffic's weekly volume."""
    if records <= 0 or days <= 0:
        raise ValueError("no traffic to turn a weekly capacity into a share")
    weekly_volume = records * DAYS_A_WEEK / days
    return min(per_week / weekly_volume, 0.999)


def capacity_share(
    share: float | None, per_week: int | None, records: int, days: float
) -> float | None:
    """The capacity as a share: the share setting, else the weekly count on this traffic."""
    if share is not None:
        return share
    if per_week is None:
        return None
    return weekly_share(per_week, records, days)
