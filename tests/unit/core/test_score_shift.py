"""The score test on constructed challengers: one that raises a group's log-odds beyond the rest
is held and named; one that moves everyone alike (a new prior) or adds noise only passes."""

from __future__ import annotations

import numpy as np

from fraud_detection.core.group_gate import AttributeComparison, GroupLimits, group_holds
from fraud_detection.core.groups import AttributeFigures, LevelFigures, poisson_weights
from fraud_detection.core.score_shift import log_odds, score_shifts

LIMITS = GroupLimits(tolerance=0.05, ratio_limit=0.8, min_rows=100, log_odds_tolerance=0.15)
ROWS = 4_000


def _champion() -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    rng = np.random.default_rng(3)
    levels = np.where(rng.random(ROWS) < 0.2, "pensioner", "other")
    return levels, rng.normal(-3.0, 1.0, ROWS), rng


def _probability(odds: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-odds)))


def _holds(levels: np.ndarray, new: np.ndarray, old: np.ndarray) -> list[str]:
    shifts = tuple(score_shifts(levels, new, old, poisson_weights(ROWS, 300, 5)))
    figures = AttributeFigures(
        "pensioner",
        tuple(LevelFigures(lv, int((levels == lv).sum()), {}) for lv in ("other", "pensioner")),
        {},
    )
    comparison = AttributeComparison("pensioner", figures, figures, (), (), shifts)
    return [hold.reason for hold in group_holds([comparison], LIMITS)]


def test_a_challenger_scoring_one_group_as_likelier_fraud_is_held_and_named() -> None:
    levels, odds, rng = _champion()
    biased = odds + 0.4 + 0.5 * (levels == "pensioner") + rng.normal(0, 0.3, ROWS)
    shifts = {s.level: s for s in score_shifts(levels, _probability(biased), _probability(odds),
                                               poisson_weights(ROWS, 300, 5))}  # fmt: skip
    assert abs(shifts["pensioner"].excess - 0.5) < 0.05
    assert shifts["pensioner"].low > 0.4 and shifts["other"].high < -0.4
    reasons = _holds(levels, _probability(biased), _probability(odds))
    assert len(reasons) == 1 and "pensioner = pensioner" in reasons[0]
    assert "FRAUD_GROUP_LOG_ODDS_TOLERANCE" in reasons[0]


def test_a_new_prior_or_noise_alone_passes() -> None:
    levels, odds, rng = _champion()
    moved = odds - 1.0 + rng.normal(0, 0.3, ROWS)  # every row's log-odds moved alike
    assert _holds(levels, _probability(moved), _probability(odds)) == []


def test_a_small_rise_within_the_tolerance_passes() -> None:
    levels, odds, rng = _champion()
    slight = odds + 0.05 * (levels == "pensioner") + rng.normal(0, 0.3, ROWS)
    assert _holds(levels, _probability(slight), _probability(odds)) == []


def test_log_odds_are_finite_at_zero_and_one() -> None:
    assert np.all(np.isfinite(log_odds(np.array([0.0, 0.5, 1.0]))))
