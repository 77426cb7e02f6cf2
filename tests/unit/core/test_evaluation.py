from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, precision_score

from fraud_detection.core.evaluation import (
    average_precision_rows,
    metrics_at,
    paired_bootstrap,
    resample_counts,
)

Y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
P = np.array([0.9, 0.8, 0.3, 0.7, 0.2, 0.1, 0.1, 0.05, 0.05, 0.6])


def test_metrics_at_a_threshold_on_a_hand_made_example() -> None:
    m = metrics_at(Y, P, 0.5)
    # predicted positive: 0.9, 0.8, 0.7, 0.6 → tp 2, fp 2, fn 1, tn 5
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (2, 2, 1, 5)
    assert m["precision"] == pytest.approx(0.5) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert m["brier"] == pytest.approx(np.mean((P - Y) ** 2))
    assert 0 < m["pr_auc"] <= 1 and 0.5 < m["roc_auc"] <= 1


def _noisy(rng: np.random.Generator, y: np.ndarray, signal: float) -> np.ndarray:
    return 1 / (1 + np.exp(-(signal * (y - 0.5) * 4 + rng.normal(0, 1, len(y)))))


def test_identical_models_differ_by_nothing() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(2_000) < 0.1).astype(int)
    p = _noisy(rng, y, 1.0)
    result = paired_bootstrap(y, (p, 0.5), (p, 0.5), samples=200, seed=1)
    assert (result.difference, result.low, result.high) == (0.0, 0.0, 0.0)


def test_a_clearly_better_model_has_an_interval_above_zero_and_pairing_matters() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random(3_000) < 0.1).astype(int)
    weak, strong = _noisy(rng, y, 0.4), _noisy(rng, y, 1.5)
    result = paired_bootstrap(y, (weak, 0.5), (strong, 0.5), samples=300, seed=2)
    assert result.difference > 0 and result.low > 0 and result.share_better > 0.99
    # Scored on other rows than the labels (unpaired), the strong model's advantage vanishes
    shuffled = paired_bootstrap(y, (weak, 0.5), (rng.permutation(strong), 0.5), samples=300, seed=2)
    assert shuffled.difference < result.low


def test_bootstrap_on_ranking_metrics_too() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(1_000) < 0.2).astype(int)
    result = paired_bootstrap(
        y,
        (_noisy(rng, y, 0.3), 0.5),
        (_noisy(rng, y, 1.5), 0.5),
        metric="pr_auc",
        samples=60,
        seed=1,
    )
    assert result.metric == "pr_auc" and result.low > 0


def test_vectorised_average_precision_equals_sklearn_on_each_resample() -> None:
    rng = np.random.default_rng(4)
    y = (rng.random(1_500) < 0.08).astype(int)
    p = np.round(_noisy(rng, y, 0.8), 2)  # many tied scores, across classes too
    index = rng.integers(0, len(y), size=(40, len(y)))
    fast = average_precision_rows(y, p, resample_counts(index, len(y)))
    expected = [average_precision_score(y[i], p[i]) for i in index]
    np.testing.assert_allclose(fast, expected, rtol=0, atol=1e-12)


def test_average_precision_of_a_single_class_resample_is_undefined() -> None:
    y = np.array([1, 0, 0, 1])
    p = np.array([0.9, 0.2, 0.4, 0.3])
    counts = np.array([[0.0, 2.0, 2.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    ap = average_precision_rows(y, p, counts)
    assert np.isnan(ap[0]) and ap[1] == pytest.approx(average_precision_score(y, p))


def test_the_pr_auc_bootstrap_of_a_single_class_holdout_is_undefined_not_an_error() -> None:
    rng = np.random.default_rng(4)
    y = np.zeros(300, dtype=int)
    result = paired_bootstrap(
        y, (rng.random(300), 0.5), (rng.random(300), 0.5), metric="pr_auc", samples=50
    )
    assert np.isnan(result.low) and np.isnan(result.high) and np.isnan(result.share_better)


def test_pr_auc_bootstrap_matches_resampling_with_sklearn() -> None:
    rng = np.random.default_rng(5)
    y = (rng.random(800) < 0.1).astype(int)
    old, new = _noisy(rng, y, 0.5), _noisy(rng, y, 1.0)
    result = paired_bootstrap(y, (old, 0.5), (new, 0.5), metric="pr_auc", samples=80, seed=7)
    index = np.random.default_rng(7).integers(0, len(y), size=(80, len(y)))
    differences = [
        average_precision_score(y[i], new[i]) - average_precision_score(y[i], old[i]) for i in index
    ]
    assert result.difference == pytest.approx(
        average_precision_score(y, new) - average_precision_score(y, old)
    )
    assert result.low == pytest.approx(np.quantile(differences, 0.025), abs=1e-12)
    assert result.high == pytest.approx(np.quantile(differences, 0.975), abs=1e-12)
    assert result.share_better == pytest.approx(np.mean(np.array(differences) > 0))


def test_the_precision_bootstrap_counts_each_resample_as_sklearn_does() -> None:
    # Given a holdout of 300 rows and two models at their own thresholds
    rng = np.random.default_rng(11)
    y = (rng.random(300) < 0.2).astype(int)
    old, new = rng.random(300), np.clip(0.5 * y + 0.6 * rng.random(300), 0, 1)
    result = paired_bootstrap(y, (old, 0.8), (new, 0.7), metric="precision", samples=40, seed=3)
    # Then the observed difference is the hand count's, and every resample's is sklearn's
    assert result.difference == pytest.approx(y[new >= 0.7].mean() - y[old >= 0.8].mean())
    index = np.random.default_rng(3).integers(0, 300, size=(40, 300))
    by_sklearn = [
        precision_score(y[i], new[i] >= 0.7, zero_division=0)
        - precision_score(y[i], old[i] >= 0.8, zero_division=0)
        for i in index
    ]
    assert result.low == pytest.approx(np.quantile(by_sklearn, 0.025))
    assert result.high == pytest.approx(np.quantile(by_sklearn, 0.975))
