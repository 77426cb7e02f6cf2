"""The first champion: trained on the base history, part of it held out for its metrics."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from fraud_detection.core.capacity import capacity_threshold
from fraud_detection.core.dataset import split_month
from fraud_detection.core.evaluation import metrics_at, predict_proba
from fraud_detection.core.features import TARGET_COLUMN, feature_matrix
from fraud_detection.core.lineage import lineage_hash
from fraud_detection.core.tags import Role, Verdict, VersionTags
from fraud_detection.core.training import TrainedModel, TrainingPart, train_parts
from fraud_detection.steps.capacity import (
    ReviewCapacitySettings,
    TrafficFloorSettings,
    capacity_of,
    traffic_or_holdout,
)
from fraud_detection.steps.challengers import (
    FitOrderSettings,
    Registration,
    RunParamsSettings,
    log_and_register,
)
from fraud_detection.steps.intake import BASE, MonthData
from fraud_detection.steps.ports import ModelWriter

BOOTSTRAP_HOLDOUT = 0.2  # of the base history, held out for the first champion's metrics


class CapacityCutSettings(ReviewCapacitySettings, TrafficFloorSettings, Protocol):
    """What cutting the first champion's threshold for the team's capacity reads."""


class FirstChampionSettings(FitOrderSettings, RunParamsSettings, CapacityCutSettings, Protocol):
    """What training and registering the first champion reads."""


@dataclass(frozen=True)
class FirstChampion:
    """The champion after bootstrapping, and whether this run made it."""

    version: str
    created: bool  # False when a champion already existed (running bootstrap twice is safe)
    metrics: dict[str, float] = field(default_factory=dict)


def bootstrap_champion(
    registry: ModelWriter, settings: FirstChampionSettings, base: MonthData, clean: pd.DataFrame
) -> FirstChampion:
    """Train the first champion on the base history (holding part of it out for its metrics)."""
    champion = registry.champion()
    if champion is not None:
        return FirstChampion(champion.version, created=False)
    data_sha256 = lineage_hash([base.ref])
    existing = registry.find_version(BASE, data_sha256, Role.BOOTSTRAP)
    if existing is not None:  # trained before a crash, never promoted
        registry.promote(existing.version, expected_champion=None)
        return FirstChampion(existing.version, created=True)
    holdout_split = split_month(
        clean, holdout_fraction=BOOTSTRAP_HOLDOUT, seed=settings.seed, month=BASE
    )
    plan = dataclasses.replace(settings.training_plan(), correction_rounds=0)
    trained = train_parts(
        [TrainingPart(BASE, holdout_split.train, 0.0)], settings.xgb, plan, seed=settings.seed
    )
    y = holdout_split.holdout[TARGET_COLUMN].to_numpy()
    probability = predict_proba(trained.booster, feature_matrix(holdout_split.holdout))
    trained = _cut_for_capacity(settings, trained, holdout_split.holdout, probability)
    holdout_metrics = metrics_at(y, probability, trained.threshold)
    registration = Registration(
        month=BASE,
        role=Role.BOOTSTRAP,
        data_sha256=data_sha256,
        lineage=[base.ref],
        run_name="bootstrap-base",
        metrics={f"holdout_{k}": v for k, v in holdout_metrics.items()},
    )
    version = log_and_register(registry, settings, trained, registration)
    registry.promote(version, expected_champion=None)
    registry.set_tags(
        version,
        VersionTags(
            holdout={
                "f1": holdout_metrics["f1"],
                "pr_auc": holdout_metrics["pr_auc"],
                "roc_auc": holdout_metrics["roc_auc"],
                "fraud_rate": float(np.mean(y)),
            },
            decision_reason="first champion",
            decision=Verdict.PROMOTED,
        ),
    )
    return FirstChampion(version, created=True, metrics=holdout_metrics)


def _cut_for_capacity(
    settings: CapacityCutSettings,
    trained: TrainedModel,
    holdout: pd.DataFrame,
    probability: np.ndarray,
) -> TrainedModel:
    """With a review capacity, the first champion's threshold flags it on the base's holdout
    (no traffic yet: the holdout stands in, as a month's worth of applications)."""
    share = capacity_of(settings, traffic_or_holdout(None, settings, holdout, len(holdout)))
    if share is None:
        return trained
    return dataclasses.replace(trained, threshold=capacity_threshold(probability, share))
