"""Fit the XGBoost challenger in this process: the recipe of core/recipe.py on the pool's parts.

A part is a frame in memory (the month's own rows) or a partition read batch by batch when the
training matrix asks for it (earlier months and the base, see steps/pool.py); a stage's matrix
is built from the parts in that stage, weighted, and kept in XGBoost's disk cache from
``external_memory_rows`` rows on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import xgboost as xgb

from fraud_detection.core.evaluation import predict_proba
from fraud_detection.core.features import TARGET_COLUMN, feature_matrix
from fraud_detection.core.model_inputs import model_features
from fraud_detection.core.params import TrainingPlan, XGBoostParams
from fraud_detection.core.recipe import (
    Cutoff,
    Stage,
    fit_stages,
    positive_weight_at,
    require_both_classes,
    require_two_classes,
    row_counts,
    validation_split,
)
from fraud_detection.core.training_batches import FrameRows, PartRows, WeightedPart, pool_matrix


@dataclass(frozen=True)
class TrainingPart:
    """One partition's rows and its age in months relative to the month being trained.

    ``source`` is a frame in memory (the month's own rows) or a partition read when the
    training matrix asks for it (earlier months and the base, see steps/pool.py).
    """

    name: str
    source: pd.DataFrame | PartRows
    age: float

    @property
    def rows(self) -> PartRows:
        return FrameRows(self.source) if isinstance(self.source, pd.DataFrame) else self.source

    @property
    def frame(self) -> pd.DataFrame:
        """The rows in memory; a partition read lazily is never gathered into one frame."""
        if not isinstance(self.source, pd.DataFrame):
            raise TypeError(f"{self.name} is read from the lake batch by batch, not held")
        return self.source


@dataclass(frozen=True)
class TrainedModel:
    """A fitted booster with its threshold and what it was fitted on (rows, weights, prior)."""

    booster: xgb.Booster
    threshold: float  # maximises F1 on the validation slice (natural fraud rate)
    validation_f1: float
    positive_weight: float  # weight of a positive row relative to a negative one
    trained_rate: float  # the class prior its probabilities behave at (calibrated_prior)
    rows: dict[str, int] = field(default_factory=dict)
    month_weights: dict[str, float] = field(default_factory=dict)  # per part, stage 1


@dataclass(frozen=True)
class _LocalStages:
    """Boosts a stage on a matrix of its parts' rows, weighted (the recipe's ``StageFit``)."""

    parts: list[TrainingPart]
    positive_weight: float
    external_memory_rows: int  # from this many rows on, in XGBoost's disk cache (0: never)
    features: tuple[str, ...]  # the contract's, less the inputs left out on purpose

    def __call__(self, stage: Stage, on_top_of: xgb.Booster | None) -> xgb.Booster:
        weighted = [
            WeightedPart(p.rows, stage.weights[p.name])
            for p in self.parts
            if p.name in stage.weights
        ]
        with pool_matrix(
            weighted,
            self.positive_weight,
            external_memory_rows=self.external_memory_rows,
            features=self.features,
        ) as matrix:
            booster = xgb.train(
                stage.params, matrix, num_boost_round=stage.rounds, xgb_model=on_top_of
            )
            del matrix  # freed before its disk cache, if any, is removed
        return booster


def _pooled_positive_weight(parts: list[TrainingPart], plan: TrainingPlan) -> float:
    """From the rows and positives counted per partition: no pass over the rows."""
    positives = sum(p.rows.positives for p in parts)
    rows = sum(p.rows.rows for p in parts)
    return positive_weight_at(positives, rows, plan.train_positive_rate)


def fit_booster(
    parts: list[TrainingPart],
    params: XGBoostParams,
    plan: TrainingPlan,
    *,
    seed: int,
    external_memory_rows: int = 0,
    history_booster: xgb.Booster | None = None,
) -> tuple[xgb.Booster, float, dict[str, float]]:
    """Both stages on ``parts`` → (booster, positive weight, stage-1 weight per part)."""
    positive_weight = _pooled_positive_weight(parts, plan)
    features = model_features(plan.excluded_inputs)
    fit_stage = _LocalStages(parts, positive_weight, external_memory_rows, features)
    ages = {p.name: p.age for p in parts}
    booster, weights = fit_stages(
        ages, params, plan, fit_stage, seed=seed, history_booster=history_booster
    )
    return booster, positive_weight, weights


def train_parts(
    parts: list[TrainingPart],
    params: XGBoostParams,
    plan: TrainingPlan,
    *,
    seed: int,
    external_memory_rows: int = 0,
) -> TrainedModel:
    """Hold out a validation slice of the newest part, fit both stages, pick the threshold.

    The newest part is in memory (its validation slice is cut from it); the others may be
    partitions read batch by batch.
    """
    if not parts:
        raise ValueError("no training data")
    require_two_classes(sum(p.rows.positives for p in parts), sum(p.rows.rows for p in parts))
    newest = min(parts, key=lambda p: p.age)
    fit_part, validation = validation_split(newest.frame, plan.validation_fraction, seed)
    require_both_classes(validation, newest.name)
    fit_parts = [p for p in parts if p is not newest] + [
        TrainingPart(newest.name, fit_part, newest.age)
    ]
    booster, positive_weight, weights = fit_booster(
        fit_parts, params, plan, seed=seed, external_memory_rows=external_memory_rows
    )
    probability = predict_proba(booster, feature_matrix(validation))
    cutoff = Cutoff.on(validation[TARGET_COLUMN].to_numpy(), probability)
    rows = row_counts(
        sum(p.rows.rows for p in parts),
        sum(p.rows.rows for p in fit_parts),
        sum(p.rows.positives for p in fit_parts),
        cutoff,
    )
    return TrainedModel(
        booster, cutoff.threshold, cutoff.f1, positive_weight, cutoff.trained_rate, rows, weights
    )


@dataclass(frozen=True)
class JudgedRecipe:
    """What a refit keeps of the judged model: its threshold and calibrated prior (no row is
    left to measure them on) and, when given, its booster, whose history stage is reused."""

    threshold: float
    trained_rate: float
    booster: xgb.Booster | None = None

    def history_stage(self, params: XGBoostParams, plan: TrainingPlan) -> xgb.Booster | None:
        """The judged booster's history trees, when the refit can keep them."""
        if self.booster is None or plan.correction_rounds <= 0:
            return None
        return self.booster[: params.n_estimators]

    def refitted(
        self,
        booster: xgb.Booster,
        positive_weight: float,
        rows: dict[str, int],
        weights: dict[str, float],
    ) -> TrainedModel:
        return TrainedModel(
            booster, self.threshold, float("nan"), positive_weight, self.trained_rate, rows, weights
        )


def refit_parts(
    parts: list[TrainingPart],
    params: XGBoostParams,
    plan: TrainingPlan,
    *,
    seed: int,
    judged: JudgedRecipe,
    external_memory_rows: int = 0,
) -> TrainedModel:
    """The judged recipe on every row (its validation slice and the holdout included).

    Given the judged booster, its history stage is kept and only the correction stage is
    refitted on the newest months in full: they hold all the rows the judged model did not fit,
    and the history stage is most of the cost.
    """
    booster, positive_weight, weights = fit_booster(
        parts,
        params,
        plan,
        seed=seed,
        external_memory_rows=external_memory_rows,
        history_booster=judged.history_stage(params, plan),
    )
    pool_rows = sum(p.rows.rows for p in parts)
    rows = row_counts(pool_rows, pool_rows, sum(p.rows.positives for p in parts), None)
    return judged.refitted(booster, positive_weight, rows, weights)


def train(
    pool: pd.DataFrame,
    params: XGBoostParams,
    *,
    train_positive_rate: float,
    validation_fraction: float,
    seed: int,
    excluded_inputs: tuple[str, ...] = (),
) -> TrainedModel:
    """One undated pool (e.g. the base history): history stage only, no recency weighting."""
    plan = TrainingPlan(
        history_half_life=0,
        recent_months=1,
        recent_half_life=0,
        correction_rounds=0,
        correction_learning_rate=1,
        correction_max_depth=1,
        train_positive_rate=train_positive_rate,
        validation_fraction=validation_fraction,
        excluded_inputs=excluded_inputs,
    )
    return train_parts([TrainingPart("pool", pool, 0.0)], params, plan, seed=seed)
