"""The two-stage recipe, once: which rows each stage weighs how, with which parameters, and how
the fitted booster's threshold and prior are chosen.

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

A model is trained on the contract's features less those the plan leaves out on purpose
(``FRAUD_EXCLUDED_INPUTS``); the booster is named with exactly those (core/model_inputs.py).

Both trainers run these stages — in process (core/training.py) and on a Dask cluster
(adapters/dask_training.py); each only says how one stage's matrix is built and boosted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import precision_recall_curve
from sklearn.model_selection import train_test_split

from fraud_detection.core.features import TARGET_COLUMN
from fraud_detection.core.model_inputs import model_features
from fraud_detection.core.params import TrainingPlan, XGBoostParams


@dataclass(frozen=True)
class Stage:
    """One boosting stage: the weight of each part's rows (parts absent are not in it)."""

    name: str  # "history" or "correction"
    weights: dict[str, float]
    params: dict[str, object]
    rounds: int


# A trainer's way of boosting one stage, on top of a booster or from scratch.
StageFit = Callable[[Stage, xgb.Booster | None], xgb.Booster]


def recency_weight(age: float, half_life: float) -> float:
    return 1.0 if half_life <= 0 else float(0.5 ** (max(age, 0.0) / half_life))


def booster_params(params: XGBoostParams, seed: int) -> dict[str, object]:
    values = params.model_dump()
    values.pop("n_estimators")
    threads = values.pop("n_jobs")
    if threads:
        values["nthread"] = threads
    return {**values, "objective": "binary:logistic", "eval_metric": "logloss", "seed": seed}


def history_stage(
    ages: Mapping[str, float], params: XGBoostParams, plan: TrainingPlan, seed: int
) -> Stage:
    weights = {name: recency_weight(age, plan.history_half_life) for name, age in ages.items()}
    return Stage("history", weights, booster_params(params, seed), params.n_estimators)


def correction_stage(
    ages: Mapping[str, float], params: XGBoostParams, plan: TrainingPlan, seed: int
) -> Stage | None:
    """Stage 2 on the newest months only; None when the plan has none or no month is recent."""
    recent = {
        name: recency_weight(age, plan.recent_half_life)
        for name, age in ages.items()
        if age < plan.recent_months
    }
    if not recent or plan.correction_rounds <= 0:
        return None
    correction = {
        **booster_params(params, seed + 1),
        "learning_rate": plan.correction_learning_rate,
        "max_depth": plan.correction_max_depth,
    }
    return Stage("correction", recent, correction, plan.correction_rounds)


def fit_stages(
    ages: Mapping[str, float],
    params: XGBoostParams,
    plan: TrainingPlan,
    fit_stage: StageFit,
    *,
    seed: int,
    history_booster: xgb.Booster | None = None,
) -> tuple[xgb.Booster, dict[str, float]]:
    """Both stages through ``fit_stage`` → (booster, stage-1 weight per part).

    Given ``history_booster`` (a refit keeps the judged model's history stage), stage 1 is not
    boosted again."""
    history = history_stage(ages, params, plan, seed)
    booster = history_booster if history_booster is not None else fit_stage(history, None)
    correction = correction_stage(ages, params, plan, seed)
    if correction is not None:
        booster = fit_stage(correction, booster)
    booster.feature_names = list(model_features(plan.excluded_inputs))
    return booster, history.weights


def positive_weight_for(y: np.ndarray, target_rate: float) -> float:
    """Weight of a positive so that positives make ``target_rate`` of the total weight."""
    return positive_weight_at(int(np.sum(y)), len(y), target_rate)


def positive_weight_at(positives: int, rows: int, target_rate: float) -> float:
    """``positive_weight_for`` from counts (the same float: an integer sum is exact)."""
    rate = positives / rows if rows else 0.0
    if rate <= 0 or rate >= target_rate:
        return 1.0
    return (target_rate / (1 - target_rate)) / (rate / (1 - rate))


def best_f1_threshold(y_true: np.ndarray, probability: np.ndarray) -> tuple[float, float]:
    """The probability cut-off with the highest F1, and that F1."""
    precision, recall, thresholds = precision_recall_curve(y_true, probability)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    if not len(thresholds):
        return 0.5, 0.0
    best = int(np.argmax(f1[:-1]))  # the last PR point has no threshold
    return float(thresholds[best]), float(f1[best])


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


def validation_split(
    frame: pd.DataFrame, fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The newest part's rows fitted on and its validation slice (stratified when it can be)."""
    stratify = frame[TARGET_COLUMN] if frame[TARGET_COLUMN].nunique() > 1 else None
    fit_part, validation = train_test_split(
        frame, test_size=fraction, random_state=seed, stratify=stratify
    )
    return fit_part, validation


def require_both_classes(validation: pd.DataFrame, name: str) -> None:
    if validation[TARGET_COLUMN].nunique() < 2:
        # Every cut-off gives F1 0 there: the "best" would be the lowest score, flagging all.
        raise ValueError(
            f"the validation slice ({len(validation)} rows of {name}) holds a single "
            "class; a threshold cannot be chosen on it"
        )


def require_two_classes(positives: int, rows: int) -> None:
    if positives == 0 or positives == rows:
        raise ValueError("training data holds a single class; a classifier cannot be trained")


@dataclass(frozen=True)
class Cutoff:
    """What the validation slice decides: the threshold, its F1 and the booster's prior."""

    threshold: float
    f1: float
    trained_rate: float
    validation_rows: int
    validation_positives: int

    @classmethod
    def on(cls, y_validation: np.ndarray, probability: np.ndarray) -> Cutoff:
        threshold, f1 = best_f1_threshold(y_validation, probability)
        rate = calibrated_prior(y_validation, probability)
        return cls(threshold, f1, rate, len(y_validation), int(np.sum(y_validation)))


def row_counts(
    pool_rows: int, fit_rows: int, fit_positives: int, cutoff: Cutoff | None
) -> dict[str, int]:
    """The rows a model was fitted on, as its run records them (a refit has no validation)."""
    return {
        "pool_rows": pool_rows,
        "fit_rows": fit_rows,
        "fit_positives": fit_positives,
        "validation_rows": cutoff.validation_rows if cutoff else 0,
        "validation_positives": cutoff.validation_positives if cutoff else 0,
    }
