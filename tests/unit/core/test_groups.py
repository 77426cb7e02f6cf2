"""Per-group figures against a hand count, and the paired shift's interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraud_detection.core.group_spec import parse_attribute
from fraud_detection.core.groups import (
    group_figures,
    paired_ratio_changes,
    paired_shifts,
    poisson_weights,
)

# Ten applicants: group a (rows 0–5) and b (rows 6–9).
LEVELS = np.array(["a"] * 6 + ["b"] * 4)
Y = np.array([1, 1, 0, 0, 0, 0, 1, 0, 0, 0])
FLAGGED = np.array([1, 0, 1, 0, 0, 0, 1, 1, 1, 0], dtype=bool)


def test_figures_per_group_equal_a_hand_count() -> None:
    figures = group_figures("g", LEVELS, Y, FLAGGED, poisson_weights(10, 200, 1))
    a, b = figures.level("a"), figures.level("b")
    assert a is not None and b is not None
    assert (a.rows, b.rows) == (6, 4)
    # a: flagged rows 0, 2 of 6; innocent 2–5, flagged 2; fraud 0, 1, found 0; flags 0, 2 one right
    assert a.figures == pytest.approx(
        {"selection_rate": 2 / 6, "false_positive_rate": 1 / 4, "recall": 1 / 2, "precision": 1 / 2}
    )
    # b: flagged 6, 7, 8 of 4; innocent 7–9, flagged 7, 8; fraud 6 found; one of three flags right
    assert b.figures == pytest.approx(
        {"selection_rate": 3 / 4, "false_positive_rate": 2 / 3, "recall": 1.0, "precision": 1 / 3}
    )
    assert figures.ratios["selection_rate"] == pytest.approx((2 / 6) / (3 / 4))
    assert figures.ratios["false_positive_rate"] == pytest.approx((1 / 4) / (2 / 3))
    low, high = a.intervals["selection_rate"]
    assert 0 <= low <= 2 / 6 <= high <= 1


def test_a_group_flagged_more_than_the_rest_shows_an_excess_and_a_uniform_rise_does_not() -> None:
    rows = 600
    index = np.arange(rows)
    levels = np.where(index % 2 == 0, "a", "b")
    y = np.zeros(rows, dtype=int)
    champion = index % 5 == 0  # a fifth of everyone
    weights = poisson_weights(rows, 300, 2)
    # The challenger also flags every fourth row of group a: a rises, the rest does not
    challenger = champion | ((levels == "a") & (index % 4 == 0))
    shifts = {
        (s.level, s.figure): s for s in paired_shifts(levels, y, challenger, champion, weights)
    }
    rise = shifts[("a", "selection_rate")]
    a = levels == "a"
    assert rise.group == pytest.approx((champion[a].mean(), challenger[a].mean()))
    assert rise.excess == pytest.approx(challenger[a].mean() - champion[a].mean())
    assert rise.low > 0.15
    # Flagging twice as many of everyone moves every group in proportion: no excess
    everyone = champion | (index % 5 == 1)
    uniform = paired_shifts(levels, y, everyone, champion, weights)
    assert all(abs(s.excess) < 1e-6 for s in uniform)
    assert all(s.low < 0.05 for s in uniform)


def test_attributes_read_bands_and_levels_from_the_contract_columns() -> None:
    frame = pd.DataFrame(
        {
            "DAYS_BIRTH": [-25 * 365, -45 * 365, -70 * 365],
            "DAYS_EMPLOYED": [-100, 365243, 365243],
            "CODE_GENDER": [0, 1, 0],
            "AMT_INCOME_TOTAL": [50_000.0, 150_000.0, 400_000.0],
        }
    )
    assert list(parse_attribute("age_band").levels(frame)) == [
        "under 30 years",
        "30–60 years",
        "60 years and over",
    ]
    assert list(parse_attribute("pensioner").levels(frame)) == [
        "not pensioner",
        "pensioner",
        "pensioner",
    ]
    assert list(parse_attribute("sex").levels(frame)) == ["female", "male", "female"]
    income = parse_attribute("AMT_INCOME_TOTAL:100000,300000")
    assert list(income.levels(frame)) == ["under 100000", "100000–300000", "300000 and over"]
    with pytest.raises(ValueError, match="nationality"):
        parse_attribute("nationality")


def test_a_ratio_between_groups_falls_with_confidence_when_one_group_is_flagged_less() -> None:
    rows = 8_000
    index = np.arange(rows)
    levels = np.where(index % 2 == 0, "a", "b")
    y = np.zeros(rows, dtype=int)
    champion = index % 5 == 0  # a fifth of both groups
    challenger = champion & ((levels == "b") | (index % 20 == 0))  # group a: half as many
    (selection, _fpr) = paired_ratio_changes(
        levels, y, challenger, champion, poisson_weights(rows, 300, 3), {"a", "b"}
    )
    assert selection.figure == "selection_rate"
    assert selection.champion == pytest.approx(1.0) and selection.challenger == pytest.approx(0.5)
    assert selection.high < -0.3
