"""The first champion: trained on the base history, part of it held out for its metrics."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fraud_detection.adapters.registry import Registry, lineage_hash
from fraud_detection.config import Settings
from fraud_detection.core.dataset import split_month
from fraud_detection.core.evaluation import metrics_at, predict_proba
from fraud_detection.core.features import (
    TARGET_COLUMN,
    feature_matrix,
)
from fraud_detection.core.training import TrainingPart, train_parts
from fraud_detection.steps.challengers import log_and_register
from fraud_detection.steps.intake import BASE, MonthData


@dataclass(frozen=True)
class Bootstrap:
    version: str
    created: bool  # False when a champion already existed (running bootstrap twice is safe)
    metrics: dict[str, float] = field(default_factory=dict)


def bootstrap_champion(
    registry: Registry, settings: Settings, base: MonthData, clean: pd.DataFrame
) -> Bootstrap:
    """Train the first champion on the base history (holding part of it out for its metrics)."""
    champion = registry.champion()
    if champion is not None:
        return Bootstrap(champion.version, created=False)
    data_sha256 = lineage_hash([base.ref])
    existing = registry.find_version(BASE, data_sha256)
    if existing is not None:  # trained before a crash, never promoted
        registry.promote(str(existing.version), expected_champion=None)
        return Bootstrap(str(existing.version), created=True)
    holdout_split = split_month(clean, holdout_fraction=0.2, seed=settings.seed, month=BASE)
    plan = settings.drift_plan()
    trained = train_parts(
        [TrainingPart(BASE, holdout_split.train, 0.0)],
        settings.xgb,
        dataclasses.replace(plan, correction_rounds=0),
        seed=settings.seed,
    )
    y = holdout_split.holdout[TARGET_COLUMN].to_numpy()
    holdout_metrics = metrics_at(
        y, predict_proba(trained.booster, feature_matrix(holdout_split.holdout)), trained.threshold
    )
    version, _ = log_and_register(
        registry,
        settings,
        trained,
        month=BASE,
        data_sha256=data_sha256,
        lineage=[base.ref],
        run_name="bootstrap-base",
        role="bootstrap",
        metrics={f"holdout_{k}": v for k, v in holdout_metrics.items()},
    )
    registry.promote(version, expected_champion=None)
    registry.set_tags(
        version,
        {
            "holdout_f1": f"{holdout_metrics['f1']:.4f}",
            "holdout_pr_auc": f"{holdout_metrics['pr_auc']:.4f}",
            "holdout_roc_auc": f"{holdout_metrics['roc_auc']:.4f}",
            "holdout_fraud_rate": f"{float(np.mean(y)):.6f}",
            "decision_reason": "first champion",
            "decision": "promoted",
        },
    )
    return Bootstrap(version, created=True, metrics=holdout_metrics)
