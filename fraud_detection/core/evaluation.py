"""Judge models on one holdout: metrics at each model's own threshold and a paired bootstrap."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np
import xgboost as xgb
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from fraud_detection.core.model_inputs import model_matrix

METRICS = ("f1", "precision", "recall", "pr_auc", "roc_auc", "brier")


def predict_proba(booster: xgb.Booster, matrix: np.ndarray) -> np.ndarray:
    """p(fraud) for each row of a full contract matrix (one call, no per-row work), given the
    columns the booster was trained on."""
    return np.asarray(booster.inplace_predict(model_matrix(booster, matrix)), dtype=np.float64)


def metrics_at(y_true: np.ndarray, probability: np.ndarray, threshold: float) -> dict[str, float]:
    """Threshold metrics, ranking metrics and the confusion matrix on one data set."""
    predicted = (probability >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(y_true, predicted, labels=[0, 1]).ravel()
    both_classes = len(np.unique(y_true)) == 2
    return {
        "f1": float(f1_score(y_true, predicted, zero_division=0)),
        "precision": float(precision_score(y_true, predicted, zero_division=0)),
        "recall": float(recall_score(y_true, predicted, zero_division=0)),
        "pr_auc": float(average_precision_score(y_true, probability)) if both_classes else 0.0,
        "roc_auc": float(roc_auc_score(y_true, probability)) if both_classes else 0.5,
        "brier": float(brier_score_loss(y_true, probability)),
        "tp": float(tp),
        "fp": float(fp),
        "fn": float(fn),
        "tn": float(tn),
        "threshold": float(threshold),
        "rows": float(len(y_true)),
        "positives": float(np.sum(y_true)),
    }


@dataclass(frozen=True)
class PairedComparison:
    """challenger − champion on the same rows, with a paired bootstrap interval."""

    metric: str
    difference: float
    low: float  # 2.5 % quantile of the bootstrap differences
    high: float  # 97.5 % quantile
    share_better: float  # share of resamples where the challenger was strictly better
    samples: int

    def as_dict(self) -> dict[str, float | str | int]:
        return asdict(self)


def _f1_rows(y: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """F1 of each row of a (resamples × n) matrix, vectorised."""
    tp = (y & predicted).sum(axis=1)
    fp = ((1 - y) & predicted).sum(axis=1)
    fn = (y & (1 - predicted)).sum(axis=1)
    denominator = 2 * tp + fp + fn
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)


def _precision_rows(y: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Precision of each row of a (resamples × n) matrix (0 where nothing is flagged)."""
    tp = (y & predicted).sum(axis=1)
    flagged = predicted.sum(axis=1)
    return np.where(flagged > 0, tp / np.maximum(flagged, 1), 0.0)


THRESHOLD_ROWS = {"f1": _f1_rows, "precision": _precision_rows}


def _metric(metric: str, y: np.ndarray, probability: np.ndarray, threshold: float) -> float:
    if metric == "f1":
        return float(f1_score(y, probability >= threshold, zero_division=0))
    if metric == "precision":
        return float(precision_score(y, probability >= threshold, zero_division=0))
    if len(np.unique(y)) < 2:
        return float("nan")
    if metric == "pr_auc":
        return float(average_precision_score(y, probability))
    if metric == "roc_auc":
        return float(roc_auc_score(y, probability))
    raise ValueError(f"unknown metric {metric!r}")


def resample_counts(index: np.ndarray, rows: int) -> np.ndarray:
    """How often each row was drawn in each resample: (resamples × rows) from the row indices."""
    samples = index.shape[0]
    offsets = (np.arange(samples, dtype=np.int64) * rows)[:, None]
    flat = np.bincount((index + offsets).ravel(), minlength=samples * rows)
    return flat.reshape(samples, rows).astype(np.float64)


def _counts_in_chunks(index: np.ndarray, rows: int, cells: int = 2_000_000) -> Iterator[np.ndarray]:
    """``resample_counts`` a few resamples at a time (memory stays ~``cells`` × 8 bytes)."""
    step = max(1, cells // max(rows, 1))
    for start in range(0, len(index), step):
        yield resample_counts(index[start : start + step], rows)


def average_precision_rows(
    y: np.ndarray, probability: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Average precision (sklearn's step-wise definition) for each row of ``counts``.

    Each row of ``counts`` weighs the data rows (a bootstrap resample drawn with replacement is
    the same data set as the original rows weighted by how often each was drawn), so one sort
    by score serves every resample: weighted true/false positives are cumulated down the
    ranking, read at the last row of each group of tied scores, and AP = Σ ΔRecall × Precision.
    NaN where a resample holds a single class (AP is undefined there, as for sklearn).
    """
    probability = np.asarray(probability, dtype=np.float64)
    order = np.argsort(-probability, kind="mergesort")
    y_sorted = np.asarray(y, dtype=np.float64)[order]
    w = counts[:, order]
    score = probability[order]
    # Thresholds are read at the last row of each group of tied scores; recall only steps at
    # groups that hold a positive, so only those are read (the others add nothing to the sum).
    group = np.cumsum(np.r_[True, score[1:] != score[:-1]]) - 1
    ends = np.flatnonzero(np.r_[group[1:] != group[:-1], True])
    has_positive = np.bincount(group, weights=y_sorted, minlength=len(ends)) > 0
    read = ends[has_positive]
    tp = np.cumsum(w * y_sorted, axis=1)[:, read]
    predicted = np.cumsum(w, axis=1)[:, read]
    positives = tp[:, -1:] if len(read) else np.zeros((len(w), 1))
    negatives = w.sum(axis=1, keepdims=True) - positives
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall_step = np.diff(tp, axis=1, prepend=0.0) / positives
        ap = np.sum(recall_step * precision, axis=1)
    return np.where((positives[:, 0] > 0) & (negatives[:, 0] > 0), ap, np.nan)


def paired_bootstrap(
    y_true: np.ndarray,
    champion: tuple[np.ndarray, float],
    challenger: tuple[np.ndarray, float],
    *,
    metric: str = "f1",
    samples: int = 1000,
    seed: int = 0,
) -> PairedComparison:
    """Resample holdout rows with replacement; both models are scored on the very same rows."""
    y = np.asarray(y_true, dtype=np.int64)
    (p_old, t_old), (p_new, t_new) = champion, challenger
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(y), size=(samples, len(y)))
    if metric in THRESHOLD_ROWS:  # a metric at each model's own threshold, vectorised
        rows = THRESHOLD_ROWS[metric]
        old = (p_old >= t_old).astype(np.int64)
        new = (p_new >= t_new).astype(np.int64)
        differences = rows(y[index], new[index]) - rows(y[index], old[index])
    elif metric == "pr_auc":
        differences = np.concatenate(
            [
                average_precision_rows(y, p_new, counts) - average_precision_rows(y, p_old, counts)
                for counts in _counts_in_chunks(index, len(y))
            ]
        )
        differences = differences[np.isfinite(differences)]
    else:
        differences = np.array(
            [
                _metric(metric, y[i], p_new[i], t_new) - _metric(metric, y[i], p_old[i], t_old)
                for i in index
            ]
        )
        differences = differences[np.isfinite(differences)]
    observed = _metric(metric, y, p_new, t_new) - _metric(metric, y, p_old, t_old)
    if not len(differences):  # every resample held a single class: the metric is undefined
        return PairedComparison(metric, float(observed), math.nan, math.nan, math.nan, samples)
    return PairedComparison(
        metric=metric,
        difference=float(observed),
        low=float(np.quantile(differences, 0.025)),
        high=float(np.quantile(differences, 0.975)),
        share_better=float(np.mean(differences > 0)),
        samples=samples,
    )
