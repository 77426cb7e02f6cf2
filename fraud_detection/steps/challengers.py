"""The month's challenger: trained on the pool (or reused when this data was trained before),
logged to MLflow and registered; on promotion, the same recipe refitted on the whole month."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fraud_detection.adapters.lake import PartitionRef
from fraud_detection.adapters.registry import Registry
from fraud_detection.config import Settings
from fraud_detection.core import plots
from fraud_detection.core.dataset import stable_seed
from fraud_detection.core.training import TrainedModel, TrainingPart, refit_parts, train_parts


@dataclass(frozen=True)
class TrainingInputs:
    month: str
    parts: list[TrainingPart]  # base, earlier decided months, this month's training part
    holdout: pd.DataFrame  # this month's held-out rows (judging only; refit uses them)
    lineage: list[PartitionRef]
    data_sha256: str


@dataclass(frozen=True)
class Challenger:
    month: str
    version: str
    run_id: str
    threshold: float
    data_sha256: str
    reused: bool  # True when this month and data had been trained before (a retry or re-run)
    positive_rate: float = 0.25  # class prior the model was trained at (weighted)
    decision: str | None = None


def train_challenger(registry: Registry, settings: Settings, inputs: TrainingInputs) -> Challenger:
    """Train and register the month's challenger, or return the version already registered."""
    month = inputs.month
    existing = registry.find_version(month, inputs.data_sha256, role="challenger")
    if existing is not None:
        return _challenger_of(month, existing, inputs.data_sha256, settings, reused=True)
    seed = stable_seed(settings.seed, month) % (2**31)
    trained = train_parts(inputs.parts, settings.xgb, settings.drift_plan(), seed=seed)
    version, _ = log_and_register(
        registry,
        settings,
        trained,
        month=month,
        data_sha256=inputs.data_sha256,
        lineage=inputs.lineage,
        run_name=f"retrain-{month}",
        role="challenger",
        params={"train_seed": seed},
    )
    found = registry.version(version)
    return _challenger_of(month, found, inputs.data_sha256, settings, reused=False)


def _challenger_of(
    month: str, version: Any, data_sha256: str, settings: Settings, *, reused: bool
) -> Challenger:
    tags = version.tags
    return Challenger(
        month,
        str(version.version),
        version.run_id or "",
        float(tags.get("threshold", settings.default_threshold)),
        data_sha256,
        reused=reused,
        positive_rate=float(tags.get("trained_positive_rate", settings.train_positive_rate)),
        decision=tags.get("decision"),
    )


def log_and_register(
    registry: Registry,
    settings: Settings,
    trained: TrainedModel,
    *,
    month: str,
    data_sha256: str,
    lineage: list[PartitionRef],
    run_name: str,
    role: str,
    params: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
    extra_tags: dict[str, str] | None = None,
) -> tuple[str, str]:
    """One MLflow run (params, metrics, weights per month, lineage, UBJ model) and its version."""
    rate = trained.trained_rate
    tags = {
        "month": month,
        "role": role,
        "data_sha256": data_sha256,
        "threshold": repr(trained.threshold),
        "trained_positive_rate": f"{rate:.6f}",
        "training_rows": str(trained.rows["pool_rows"]),
        **(extra_tags or {}),
    }
    weights = {f"weight_{name}": w for name, w in trained.month_weights.items()}
    logged_metrics = {"threshold": trained.threshold, **weights, **(metrics or {})}
    if np.isfinite(trained.validation_f1):
        logged_metrics["validation_f1"] = trained.validation_f1
    run_id, model_uri = registry.log_model_run(
        trained.booster,
        run_name=run_name,
        params={
            **settings.public_params(),
            **trained.rows,
            "month": month,
            "role": role,
            "positive_weight": f"{trained.positive_weight:.4f}",
            **(params or {}),
        },
        metrics=logged_metrics,
        tags=tags,
        lineage=lineage,
        figures={"plots/feature_importance.png": plots.feature_importance(trained.booster)},
        texts={"training_weights.json": _weights_json(trained)},
    )
    return registry.register_version(model_uri, run_id, {**tags, "run_id": run_id}), run_id


def _weights_json(trained: TrainedModel) -> str:
    return json.dumps(
        {
            "history_stage_weight_per_partition": trained.month_weights,
            "positive_weight": trained.positive_weight,
        },
        indent=2,
        sort_keys=True,
    )


def refit(
    registry: Registry, settings: Settings, inputs: TrainingInputs, challenger: Challenger
) -> str:
    """The judged recipe refitted on the whole month (holdout included) → its version."""
    existing = registry.find_version(inputs.month, inputs.data_sha256, role="refit")
    if existing is not None:
        return str(existing.version)
    seed = stable_seed(settings.seed, inputs.month) % (2**31)
    parts = [*inputs.parts[:-1], TrainingPart(inputs.month, _whole_month(inputs), 0.0)]
    trained = refit_parts(
        parts,
        settings.xgb,
        settings.drift_plan(),
        seed=seed,
        threshold=challenger.threshold,
        judged=registry.load_booster(challenger.version),
    )
    version, _ = log_and_register(
        registry,
        settings,
        trained,
        month=inputs.month,
        data_sha256=inputs.data_sha256,
        lineage=inputs.lineage,
        run_name=f"refit-{inputs.month}",
        role="refit",
        params={"train_seed": seed, "refit_of": challenger.version},
        extra_tags={"refit_of": challenger.version},
    )
    return version


def _whole_month(inputs: TrainingInputs) -> pd.DataFrame:
    return pd.concat([inputs.parts[-1].frame, inputs.holdout], ignore_index=True)
