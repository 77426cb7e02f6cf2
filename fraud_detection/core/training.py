"""Fit the XGBoost challenger so that it follows drift, and choose its threshold on validation.

Two stages make one booster:

1. **History**: every training row (base history + every month), each month weighted by
   ``0.5 ** (age / history_half_life)``: the stable structure of fraud comes from all the data,
   with recent months counting more.
2. **Correction**: a few shallow trees more, boosted on top of stage 1 from the newest months
   only (weighted by ``0.5 ** (age / recent_half_life)``): a new fraud pattern is learnt from
   the months that show it, without being outvoted by years of history; when nothing changed
   these trees have little left to fit.

Positives are weighted up to ``train_positive_rate`` instead of dropping negatives (the original
system undersampled to 25 % positives; weighting keeps its probability scale and risk bands
but loses no rows). The threshold that maximises F1 is chosen on a validation slice of the
newest month at its natural fraud rate, never on rows the model was fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import precision_recall_curve
from sklearn.model_selection import train_test_split

from fraud_detection.core.features import FEATURES, TARGET_COLUMN, feature_matrix
from fraud_detection.core.params import DriftPlan, XGBoostParams
from fraud_detection.core.part_batches import FrameRows, PartRows, WeightedPart, pool_matrix


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


def recency_weight(age: float, half_life: float) -> float:
    return 1.0 if half_life <= 0 else float(0.5 ** (max(age, 0.0) / half_life))


def best_f1_threshold(y_true: np.ndarray, probability: np.ndarray) -> tuple[float, float]:
    """The probability cut-off with the highest F1, and that F1."""
    precision, recall, thresholds = precision_recall_curve(y_true, probability)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    if not len(thresholds):
        return 0.5, 0.0
    best = int(np.argmax(f1[:-1]))  # the last PR point has no threshold
    return float(thresholds[best]), float(f1[best])


def _booster_params(params: XGBoostParams, seed: int) -> dict[str, object]:
    values = params.model_dump()
    values.pop("n_estimators")
    threads = values.pop("n_jobs")
    if threads:
        values["nthread"] = threads
    return {**values, "objective": "binary:logistic", "eval_metric": "logloss", "seed": seed}


@dataclass(frozen=True)
class _Matrices:
    """How a stage's training matrix is built: the positives' weight and where it is kept."""

    positive_weight: float
    external_memory_rows: int  # from this many rows on, in XGBoost's disk cache (0: never)

    def train(
        self,
        parts: list[TrainingPart],
        weight_of: dict[str, float],
        booster_params: dict[str, object],
        rounds: int,
        xgb_model: xgb.Booster | None = None,
    ) -> xgb.Booster:
        """``rounds`` boosting rounds on the matrix of ``parts`` (on top of ``xgb_model``)."""
        weighted = [WeightedPart(p.rows, weight_of[p.name]) for p in parts]
        with pool_matrix(
            weighted, self.positive_weight, external_memory_rows=self.external_memory_rows
        ) as matrix:
            booster = xgb.train(booster_params, matrix, num_boost_round=rounds, xgb_model=xgb_model)
            del matrix  # freed before its disk cache, if any, is removed
        return booster


def calibrated_prior(y_true: np.ndarray, probability: np.ndarray) -> float:
    """The class prior a model's probabilities behave as if fitted at, measured on rows at
    their natural fraud rate (the validation slice).

    Stage 1 is recency-weighted and stage 2 boosts recent months on top, so no recorded pooled
    rate is the prior the booster ended at; this is the rate r such that moving the
    probabilities from r to the rows' own fraud rate (``gate.prior_corrected``) makes their
    mean that fraud rate.
    """
    rate = float(np.mean(y_true))
    p = np.clip(np.asarray(probability, dtype=np.float64), 1e-6, 1 - 1e-6)
    logit = np.log(p / (1 - p))

    def excess(shift: float) -> float:
        return float(np.mean(1 / (1 + np.exp(-(logit + shift))))) - rate

    low, high = -30.0, 30.0  # the mean rises with the shift: bisection finds the one root
    for _ in range(80):
        middle = (low + high) / 2
        low, high = (low, middle) if excess(middle) > 0 else (middle, high)
    shift = (low + high) / 2
    odds = rate / (1 - rate) / np.exp(shift)
    return float(odds / (1 + odds))


def positive_weight_for(y: np.ndarray, target_rate: float) -> float:
    """Weight of a positive so that positives make ``target_rate`` of the total weight."""
    return positive_weight_at(int(np.sum(y)), len(y), target_rate)


def positive_weight_at(positives: int, rows: int, target_rate: float) -> float:
    """``positive_weight_for`` from counts (the same float: an integer sum is exact)."""
    rate = positives / rows if rows else 0.0
    if rate <= 0 or rate >= target_rate:
        return 1.0
    return (target_rate / (1 - target_rate)) / (rate / (1 - rate))


def fit_booster(
    parts: list[TrainingPart],
    params: XGBoostParams,
    plan: DriftPlan,
    *,
    seed: int,
    correction_rounds: int | None = None,
    external_memory_rows: int = 0,
) -> tuple[xgb.Booster, float, dict[str, float]]:
    """Both stages on ``parts`` → (booster, positive weight, stage-1 weight per part)."""
    positive_weight = _pooled_positive_weight(parts, plan)
    matrices = _Matrices(positive_weight, external_memory_rows)
    history = {p.name: recency_weight(p.age, plan.history_half_life) for p in parts}
    booster = matrices.train(parts, history, _booster_params(params, seed), params.n_estimators)
    rounds = plan.correction_rounds if correction_rounds is None else correction_rounds
    if rounds > 0:
        booster = _correct(booster, parts, params, plan, matrices, seed=seed)
    booster.feature_names = list(FEATURES)
    return booster, positive_weight, history


def _pooled_positive_weight(parts: list[TrainingPart], plan: DriftPlan) -> float:
    """From the rows and positives counted per partition: no pass over the rows."""
    positives = sum(p.rows.positives for p in parts)
    rows = sum(p.rows.rows for p in parts)
    return positive_weight_at(positives, rows, plan.train_positive_rate)


def _correct(
    booster: xgb.Booster,
    parts: list[TrainingPart],
    params: XGBoostParams,
    plan: DriftPlan,
    matrices: _Matrices,
    *,
    seed: int,
) -> xgb.Booster:
    """Stage 2: shallow trees boosted on top of ``booster`` from the newest months only."""
    recent = [p for p in parts if p.age < plan.recent_months]
    if not recent or plan.correction_rounds <= 0:
        return booster
    weights = {p.name: recency_weight(p.age, plan.recent_half_life) for p in recent}
    correction = {
        **_booster_params(params, seed + 1),
        "learning_rate": plan.correction_learning_rate,
        "max_depth": plan.correction_max_depth,
    }
    corrected = matrices.train(recent, weights, correction, plan.correction_rounds, booster)
    corrected.feature_names = list(FEATURES)
    return corrected


def validation_split(
    frame: pd.DataFrame, fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The newest part's rows fitted on and its validation slice (stratified when it can be)."""
    stratify = frame[TARGET_COLUMN] if frame[TARGET_COLUMN].nunique() > 1 else None
    fit_part, validation = train_test_split(
        frame, test_size=fraction, random_state=seed, stratify=stratify
    )
    return fit_part, validation


def train_parts(
    parts: list[TrainingPart],
    params: XGBoostParams,
    plan: DriftPlan,
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
    positives = sum(p.rows.positives for p in parts)
    if positives == 0 or positives == sum(p.rows.rows for p in parts):
        raise ValueError("training data holds a single class; a classifier cannot be trained")
    newest = min(parts, key=lambda p: p.age)
    fit_part, validation = validation_split(newest.frame, plan.validation_fraction, seed)
    if validation[TARGET_COLUMN].nunique() < 2:
        # Every cut-off gives F1 0 there: the "best" would be the lowest score, flagging all.
        raise ValueError(
            f"the validation slice ({len(validation)} rows of {newest.name}) holds a single "
            "class; a threshold cannot be chosen on it"
        )
    fit_parts = [p for p in parts if p is not newest] + [
        TrainingPart(newest.name, fit_part, newest.age)
    ]
    booster, positive_weight, weights = fit_booster(
        fit_parts, params, plan, seed=seed, external_memory_rows=external_memory_rows
    )
    probability = booster.inplace_predict(feature_matrix(validation))
    threshold, f1 = best_f1_threshold(validation[TARGET_COLUMN].to_numpy(), probability)
    rows = {
        "pool_rows": sum(p.rows.rows for p in parts),
        "fit_rows": sum(p.rows.rows for p in fit_parts),
        "fit_positives": sum(p.rows.positives for p in fit_parts),
        "validation_rows": len(validation),
        "validation_positives": int(validation[TARGET_COLUMN].sum()),
    }
    rate = calibrated_prior(validation[TARGET_COLUMN].to_numpy(), probability)
    return TrainedModel(booster, threshold, f1, positive_weight, rate, rows, weights)


@dataclass(frozen=True)
class JudgedRecipe:
    """What a refit keeps of the judged model: its threshold and calibrated prior (no row is
    left to measure them on) and, when given, its booster, whose history stage is reused."""

    threshold: float
    trained_rate: float
    booster: xgb.Booster | None = None


def refit_parts(
    parts: list[TrainingPart],
    params: XGBoostParams,
    plan: DriftPlan,
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
    positive_weight = _pooled_positive_weight(parts, plan)
    if judged.booster is not None and plan.correction_rounds > 0:
        history = judged.booster[: params.n_estimators]
        matrices = _Matrices(positive_weight, external_memory_rows)
        booster = _correct(history, parts, params, plan, matrices, seed=seed)
        weights = {p.name: recency_weight(p.age, plan.history_half_life) for p in parts}
    else:
        booster, positive_weight, weights = fit_booster(
            parts, params, plan, seed=seed, external_memory_rows=external_memory_rows
        )
    pool_rows = sum(p.rows.rows for p in parts)
    rows = {
        "pool_rows": pool_rows,
        "fit_rows": pool_rows,
        "fit_positives": sum(p.rows.positives for p in parts),
        "validation_rows": 0,
        "validation_positives": 0,
    }
    return TrainedModel(
        booster, judged.threshold, float("nan"), positive_weight, judged.trained_rate, rows, weights
    )


def train(
    pool: pd.DataFrame,
    params: XGBoostParams,
    *,
    train_positive_rate: float,
    validation_fraction: float,
    seed: int,
) -> TrainedModel:
    """One undated pool (e.g. the base history): history stage only, no recency weighting."""
    plan = DriftPlan(
        history_half_life=0,
        recent_months=1,
        recent_half_life=0,
        correction_rounds=0,
        correction_learning_rate=1,
        correction_max_depth=1,
        train_positive_rate=train_positive_rate,
        validation_fraction=validation_fraction,
    )
    return train_parts([TrainingPart("pool", pool, 0.0)], params, plan, seed=seed)
