"""Cut a model's threshold for the fraud team's capacity on recent traffic (or the holdout).

The traffic is what the service captured over the replay window, the features exactly as the
models saw them; with too few records the month's holdout stands in, so a first month (or a
setup without capture) still gets a threshold that flags the capacity."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Protocol

import numpy as np
import pandas as pd

from fraud_detection.core.capacity import capacity_share, capacity_threshold
from fraud_detection.core.evaluation import predict_proba
from fraud_detection.core.features import FEATURES, feature_matrix
from fraud_detection.core.tags import VersionTags
from fraud_detection.settings.capacity import CapacitySettings
from fraud_detection.steps.ports import ModelWriter, ScoredReader

DAYS_A_MONTH = 30.44  # a month's holdout, as days of traffic, for a weekly capacity


class ReviewCapacitySettings(Protocol):
    """The fraud team's capacity, as a share or as reviews a week (either may be unset)."""

    @property
    def review_capacity(self) -> float | None: ...
    @property
    def review_capacity_per_week(self) -> int | None: ...


class TrafficFloorSettings(Protocol):
    """How many captured records stand for traffic before the holdout stands in."""

    @property
    def replay_min_records(self) -> int: ...


@dataclass(frozen=True)
class Traffic:
    """Applications to cut a threshold and replay on: their features and the days they span."""

    matrix: np.ndarray = field(repr=False)
    days: float
    captured: bool  # False: the month's holdout stands in for traffic

    @property
    def records(self) -> int:
        return len(self.matrix)


def read_traffic(scored: ScoredReader, settings: CapacitySettings, today: date) -> Traffic:
    """The captured applications of the last ``replay_days`` days before ``today``."""
    since = today - timedelta(days=settings.replay_days)
    table = scored.read(since=since, until=today - timedelta(days=1), columns=list(FEATURES))
    return Traffic(feature_matrix(table.to_pandas()), float(settings.replay_days), True)


def traffic_or_holdout(
    traffic: Traffic | None, settings: TrafficFloorSettings, holdout: pd.DataFrame, month_rows: int
) -> Traffic:
    """The captured traffic when it has enough records, else the month's holdout (its days:
    the month's, in proportion to its share of the month's rows)."""
    if traffic is not None and traffic.records >= settings.replay_min_records:
        return traffic
    days = DAYS_A_MONTH * len(holdout) / max(month_rows, 1)
    return Traffic(feature_matrix(holdout), days, False)


def capacity_of(settings: ReviewCapacitySettings, traffic: Traffic) -> float | None:
    """The capacity as a share of this traffic, or None when no capacity is set."""
    return capacity_share(
        settings.review_capacity, settings.review_capacity_per_week, traffic.records, traffic.days
    )


def cut_threshold(
    registry: ModelWriter, settings: ReviewCapacitySettings, version: str, traffic: Traffic
) -> float | None:
    """Set ``version``'s threshold to flag the capacity of ``traffic`` → the new threshold
    (None and nothing written when no capacity is set)."""
    share = capacity_of(settings, traffic)
    if share is None:
        return None
    probability = predict_proba(registry.load_booster(version), traffic.matrix)
    threshold = capacity_threshold(probability, share)
    registry.set_tags(version, VersionTags(threshold=threshold))  # only this tag is written
    return threshold
