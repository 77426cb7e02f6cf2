"""The promotion gate and the data alarm on constructed score vectors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fraud_detection.config import Settings
from fraud_detection.core.alarm import data_alarm
from fraud_detection.core.gate import decide, paired_test, prior_corrected

RULE = (
    Settings().gate_rule()
)  # non-inferiority on log-loss, tolerance 2.5 % of the champion's, 95 %

LIMITS = {"max_auc_drop": 0.10, "max_rate_factor": 2.0}  # the settings' defaults


def _scores(seed: int, n: int = 4_000, signal: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Labels at ~8 % and calibrated probabilities whose sharpness grows with ``signal``."""
    rng = np.random.default_rng(seed)
    logit = rng.normal(0, 1.2, n) - 2.7
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    p = 1 / (1 + np.exp(-(signal * logit + (1 - signal) * -2.5)))
    return y, p


def test_no_champion_promotes() -> None:
    y, p = _scores(0)
    decision, test = decide(y, None, p, RULE)
    assert decision.promote and test is None


def test_a_clear_win_is_promoted_in_both_modes() -> None:
    y, strong = _scores(1, signal=1.0)
    _, weak = _scores(1, signal=0.3)
    for rule in (RULE, dataclasses.replace(RULE, mode="superiority", margin=0.01)):
        decision, test = decide(y, weak, strong, rule)
        assert decision.promote, decision.reason
        assert test is not None and test.upper < 0 and test.difference < 0
        assert "promoted" in decision.reason and f"{test.upper:+.5f}" in decision.reason


def test_a_clear_loss_is_rejected() -> None:
    y, strong = _scores(2, signal=1.0)
    _, weak = _scores(2, signal=0.3)
    decision, test = decide(y, strong, weak, RULE)
    assert not decision.promote and decision.verdict == "rejected"
    assert test is not None and test.lower > RULE.bound(test.champion_loss)
    assert "champion kept" in decision.reason


def test_within_tolerance_non_inferiority_promotes_but_superiority_does_not() -> None:
    y, p = _scores(3)
    rng = np.random.default_rng(4)
    nearly = np.clip(p * np.exp(rng.normal(0, 0.02, len(p))), 1e-6, 1 - 1e-6)  # ≈ same model
    kept_by_superiority, test = decide(
        y, p, nearly, dataclasses.replace(RULE, mode="superiority", margin=0.0)
    )
    promoted, _ = decide(y, p, nearly, RULE)
    assert test is not None and abs(test.difference) < RULE.bound(test.champion_loss)
    assert promoted.promote and not kept_by_superiority.promote


def test_a_single_class_holdout_keeps_the_champion() -> None:
    y = np.zeros(500, dtype=int)
    decision, test = decide(y, np.full(500, 0.1), np.full(500, 0.01), RULE)
    assert not decision.promote and test is None and "single class" in decision.reason


def test_the_interval_is_paired() -> None:
    y, p = _scores(5)
    same = paired_test(y, p, p)
    assert same.difference == same.upper == same.lower == 0
    shuffled = paired_test(y, p, np.random.default_rng(6).permutation(p))
    assert shuffled.difference > 0.01 and shuffled.lower > 0


def test_prior_correction_undoes_a_weighted_prior() -> None:
    p = np.array([0.1, 0.25, 0.5, 0.9])
    back = prior_corrected(
        prior_corrected(p, trained_rate=0.25, target_rate=0.08), trained_rate=0.08, target_rate=0.25
    )
    assert back == pytest.approx(p)
    assert prior_corrected(np.array([0.25]), trained_rate=0.25, target_rate=0.08)[
        0
    ] == pytest.approx(0.08)


def test_the_alarm_rings_for_shuffled_or_inverted_labels_not_for_drift() -> None:
    y, p = _scores(7, n=4_000)
    history = dict(
        reference_roc_auc=[0.80, 0.79, 0.81], reference_fraud_rates=[0.08, 0.081], **LIMITS
    )
    assert not data_alarm(y, p, **history).raised
    # drift: a new pattern the champion misses lowers its ranking a little
    drifted = np.where(np.random.default_rng(8).random(len(y)) < 0.05, 0.02, p)
    assert not data_alarm(y, drifted, **history).raised
    shuffled = data_alarm(np.random.default_rng(9).permutation(y), p, **history)
    assert shuffled.raised and "ROC-AUC" in shuffled.reason
    segment = np.arange(len(y)) % 6 == 0
    inverted = data_alarm(np.where(segment, 1 - y, y), p, **history)
    assert inverted.raised and "fraud rate" in inverted.reason
    # without history there is nothing to compare with
    assert not data_alarm(y, p, reference_roc_auc=[], reference_fraud_rates=[], **LIMITS).raised
