from __future__ import annotations

import numpy as np
import pytest

from fraud_detection.evaluation import metrics_at, paired_bootstrap

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
