"""Per-group figures against a hand count, and the paired shift's interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraud_detection.core.group_spec import parse_attribute
from fraud_detection.core.groups import group_figures, paired_shifts, poisson_weights

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


def test_a_paired_shift_is_certain_when_every_row_of_a_group_moves_the_same_way() -> None:
    rows = 600
    levels = np.array(["a", "b"] * (rows // 2))
    y = np.zeros(rows, dtype=int)
    champion = np.zeros(rows, dtype=bool)
    challenger = (levels == "a") & (np.arange(rows) % 4 == 0)  # a quarter of group a now flagged
    shifts = {
        (s.level, s.figure): s
        for s in paired_shifts(levels, y, challenger, champion, poisson_weights(rows, 300, 2))
    }
    rise = shifts[("a", "selection_rate")]
    assert rise.difference == pytest.approx(0.5) or rise.difference == pytest.approx(0.25)
    assert rise.low > 0.15
    assert shifts[("b", "false_positive_rate")].high == 0


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
