"""The month's challenger: trained on the pool (or reused when this data was trained before),
logged to MLflow and registered; on promotion, the same recipe refitted on the whole month."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from fraud_detection.core import plots
from fraud_detection.core.dataset import MonthSplit, stable_seed
from fraud_detection.core.lineage import PartitionRef, RunRecord
from fraud_detection.core.model_inputs import inputs_params
from fraud_detection.core.params import TrainingPlan, XGBoostParams
from fraud_detection.core.tags import Role, VersionTags
from fraud_detection.core.training import (
    JudgedRecipe,
    TrainedModel,
    TrainingPart,
    refit_parts,
    train_parts,
)
from fraud_detection.settings.training import TrainingSettings
from fraud_detection.steps import pool
from fraud_detection.steps.intake import MonthData
from fraud_detection.steps.pool import TrainingInputs
from fraud_detection.steps.ports import LakeReader, ModelWriter, RegistryReader, VersionView


@dataclass(frozen=True)
class Challenger:
    """The month's registered challenger, as judging and the transition need it."""

    month: str
    version: str
    run_id: str
    threshold: float
    data_sha256: str
    reused: bool  # True when this month and data had been trained before (a retry or re-run)
    positive_rate: float  # class prior its probabilities behave at (measured on validation)


@dataclass(frozen=True)
class Registration:
    """What a trained model is registered as: its month, role, data and MLflow run."""

    month: str
    role: Role
    data_sha256: str
    lineage: list[PartitionRef]
    run_name: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    refit_of: str | None = None


class FitOrderSettings(Protocol):
    """What a fit is ordered from: the booster's parameters, the training plan, the seed."""

    @property
    def xgb(self) -> XGBoostParams: ...
    @property
    def seed(self) -> int: ...
    def training_plan(self) -> TrainingPlan: ...


class RunParamsSettings(Protocol):
    """The settings a training run logs as its parameters (safe to log)."""

    def public_params(self) -> dict[str, str]: ...


class ChallengerDefaultsSettings(Protocol):
    """What a challenger falls back on when its version's tags do not say."""

    @property
    def default_threshold(self) -> float: ...
    @property
    def train_positive_rate(self) -> float: ...


class ChallengerSettings(FitOrderSettings, RunParamsSettings, ChallengerDefaultsSettings, Protocol):
    """What training and registering the month's challenger reads."""


class RefitSettings(FitOrderSettings, RunParamsSettings, Protocol):
    """What refitting the judged recipe on the whole month reads."""


@dataclass(frozen=True)
class FitOrder:
    """What every fit is given, wherever it runs: the booster's parameters, the training plan
    and the month's seed."""

    params: XGBoostParams
    plan: TrainingPlan
    seed: int

    @classmethod
    def of(cls, settings: FitOrderSettings, month: str) -> FitOrder:
        return cls(settings.xgb, settings.training_plan(), stable_seed(settings.seed, month))


class Fitter(Protocol):
    """Where the recipe is fitted: in this process (``LOCAL``) or elsewhere (a Dask cluster,
    steps/cluster_training.py), on the pool its own ``gather`` built."""

    def gather(
        self, lake: LakeReader, registry: RegistryReader, data: MonthData, month_split: MonthSplit
    ) -> TrainingInputs: ...

    def fit(self, inputs: TrainingInputs, order: FitOrder) -> TrainedModel: ...

    def refit(
        self, inputs: TrainingInputs, order: FitOrder, judged: JudgedRecipe
    ) -> TrainedModel: ...


@dataclass(frozen=True)
class LocalFitter:
    """The recipe of core/training.py in this process, on the parts the pool reads from the
    lake: months below the history floor left out, XGBoost's disk cache past a pool size."""

    floor: pool.HistoryFloor = field(default_factory=pool.HistoryFloor)
    external_memory_rows: int = 0  # 0: never

    @classmethod
    def of(cls, settings: TrainingSettings) -> LocalFitter:
        return cls(pool.HistoryFloor.of(settings), settings.external_memory_rows)

    def gather(
        self, lake: LakeReader, registry: RegistryReader, data: MonthData, month_split: MonthSplit
    ) -> TrainingInputs:
        return pool.gather(lake, registry, data, month_split, floor=self.floor)

    def fit(self, inputs: TrainingInputs, order: FitOrder) -> TrainedModel:
        return train_parts(
            inputs.parts,
            order.params,
            order.plan,
            seed=order.seed,
            external_memory_rows=self.external_memory_rows,
        )

    def refit(self, inputs: TrainingInputs, order: FitOrder, judged: JudgedRecipe) -> TrainedModel:
        parts = [*inputs.parts[:-1], TrainingPart(inputs.month, whole_month(inputs), 0.0)]
        return refit_parts(
            parts,
            order.params,
            order.plan,
            seed=order.seed,
            judged=judged,
            external_memory_rows=self.external_memory_rows,
        )


LOCAL = LocalFitter()


def train_challenger(
    registry: ModelWriter,
    settings: ChallengerSettings,
    inputs: TrainingInputs,
    fitter: Fitter = LOCAL,
) -> Challenger:
    """Train and register the month's challenger, or return the version already registered."""
    month = inputs.month
    existing = registry.find_version(month, inputs.data_sha256, Role.CHALLENGER)
    if existing is not None:
        return _challenger_of(month, existing, settings, reused=True)
    order = FitOrder.of(settings, month)
    trained = fitter.fit(inputs, order)
    registration = Registration(
        month=month,
        role=Role.CHALLENGER,
        data_sha256=inputs.data_sha256,
        lineage=inputs.lineage,
        run_name=f"retrain-{month}",
        params={"train_seed": order.seed},
    )
    version = log_and_register(registry, settings, trained, registration)
    return _challenger_of(month, registry.version(version), settings, reused=False)


def _challenger_of(
    month: str, version: VersionView, settings: ChallengerDefaultsSettings, *, reused: bool
) -> Challenger:
    tags = version.tags
    return Challenger(
        month,
        version.version,
        version.run_id or "",
        tags.threshold_or(settings.default_threshold),
        tags.data_sha256 or "",
        reused=reused,
        positive_rate=(
            settings.train_positive_rate
            if tags.trained_positive_rate is None
            else tags.trained_positive_rate
        ),
    )


def log_and_register(
    registry: ModelWriter,
    settings: RunParamsSettings,
    trained: TrainedModel,
    registration: Registration,
) -> str:
    """One MLflow run (params, metrics, weights per month, lineage, UBJ model) → its version."""
    tags = VersionTags(
        month=registration.month,
        role=registration.role,
        data_sha256=registration.data_sha256,
        threshold=trained.threshold,
        trained_positive_rate=trained.trained_rate,
        training_rows=trained.rows["pool_rows"],
        refit_of=registration.refit_of,
    )
    weights = {f"weight_{name}": w for name, w in trained.month_weights.items()}
    metrics = {"threshold": trained.threshold, **weights, **registration.metrics}
    if np.isfinite(trained.validation_f1):
        metrics["validation_f1"] = trained.validation_f1
    run = RunRecord(
        name=registration.run_name,
        params={
            **settings.public_params(),
            **trained.rows,
            "month": registration.month,
            "role": registration.role.value,
            "positive_weight": f"{trained.positive_weight:.4f}",
            **inputs_params(trained.booster),
            **registration.params,
        },
        metrics=metrics,
        tags=tags.to_tags(),
        lineage=registration.lineage,
        figures={"plots/feature_importance.png": plots.feature_importance(trained.booster)},
        texts={"training_weights.json": _weights_json(trained)},
    )
    run_id, model_uri = registry.log_model_run(trained.booster, run)
    return registry.register_version(model_uri, run_id, replace(tags, run_id=run_id))


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
    registry: ModelWriter,
    settings: RefitSettings,
    inputs: TrainingInputs,
    challenger: Challenger,
    fitter: Fitter = LOCAL,
) -> str:
    """The judged recipe refitted on the whole month (holdout included) → its version."""
    existing = registry.find_version(inputs.month, inputs.data_sha256, Role.REFIT)
    if existing is not None:
        return existing.version
    judged = JudgedRecipe(
        challenger.threshold, challenger.positive_rate, registry.load_booster(challenger.version)
    )
    order = FitOrder.of(settings, inputs.month)
    trained = fitter.refit(inputs, order, judged)
    registration = Registration(
        month=inputs.month,
        role=Role.REFIT,
        data_sha256=inputs.data_sha256,
        lineage=inputs.lineage,
        run_name=f"refit-{inputs.month}",
        params={"train_seed": order.seed, "refit_of": challenger.version},
        refit_of=challenger.version,
    )
    return log_and_register(registry, settings, trained, registration)


def whole_month(inputs: TrainingInputs) -> pd.DataFrame:
    """The month's training part and its holdout: every row of the month, for the refit."""
    return pd.concat([inputs.parts[-1].frame, inputs.holdout], ignore_index=True)
