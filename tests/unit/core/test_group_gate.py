"""The gate's group check on constructed comparisons: a rise beyond the tolerance with
confidence holds, one within it or uncertain does not, and a ratio pushed past the limit holds."""

from __future__ import annotations

from fraud_detection.core.group_gate import (
    AttributeComparison,
    GroupLimits,
    group_holds,
)
from fraud_detection.core.groups import AttributeFigures, LevelFigures, RatioChange, Shift

LIMITS = GroupLimits(tolerance=0.05, ratio_limit=0.8, min_rows=100)


def _figures(rates: dict[str, float], rows: int = 500) -> AttributeFigures:
    levels = tuple(
        LevelFigures(
            level,
            rows,
            {"selection_rate": r, "false_positive_rate": r, "recall": 0.5, "precision": 0.5},
        )
        for level, r in rates.items()
    )
    low, high = min(rates.values()), max(rates.values())
    ratio = low / high
    return AttributeFigures(
        "pensioner", levels, {"selection_rate": ratio, "false_positive_rate": ratio}
    )


def _comparison(
    new: dict[str, float], old: dict[str, float], shift: Shift, rows: int = 500
) -> AttributeComparison:
    return AttributeComparison("pensioner", _figures(new, rows), _figures(old, rows), (shift,))


def test_a_group_flagged_more_with_confidence_is_held_and_named() -> None:
    rise = Shift("pensioner", "selection_rate", (0.08, 0.2), (0.2, 0.2), 0.12, 0.08, 0.16)
    holds = group_holds(
        [_comparison({"pensioner": 0.2, "other": 0.2}, {"pensioner": 0.08, "other": 0.2}, rise)],
        LIMITS,
    )
    assert len(holds) == 1
    assert holds[0].check == "groups"
    assert "share flagged of pensioner = pensioner" in holds[0].reason
    assert "from 8.0% to 20.0% while the rest's moves from 20.0% to 20.0%" in holds[0].reason
    assert "+12.0% beyond" in holds[0].reason and "5.0%" in holds[0].reason


def test_a_rise_within_the_tolerance_or_without_confidence_passes() -> None:
    same = {"pensioner": 0.1, "other": 0.11}
    within = Shift("pensioner", "selection_rate", (0.1, 0.13), (0.1, 0.1), 0.03, 0.01, 0.05)
    uncertain = Shift("pensioner", "false_positive_rate", (0.1, 0.17), (0.1, 0.1), 0.07, 0.02, 0.12)
    assert group_holds([_comparison(same, same, within)], LIMITS) == []
    assert group_holds([_comparison(same, same, uncertain)], LIMITS) == []


def test_a_small_group_is_reported_not_judged() -> None:
    rise = Shift("pensioner", "selection_rate", (0.08, 0.2), (0.2, 0.2), 0.12, 0.08, 0.16)
    comparison = _comparison(
        {"pensioner": 0.2, "other": 0.2}, {"pensioner": 0.08, "other": 0.2}, rise, rows=50
    )
    assert group_holds([comparison], LIMITS) == []


def test_a_ratio_pushed_below_the_limit_with_confidence_is_held_and_others_are_not() -> None:
    calm = Shift("pensioner", "selection_rate", (0.1, 0.1), (0.1, 0.1), 0.0, -0.01, 0.01)
    same = {"pensioner": 0.1, "other": 0.1}

    def comparison(change: RatioChange) -> AttributeComparison:
        return AttributeComparison("pensioner", _figures(same), _figures(same), (calm,), (change,))

    pushed = RatioChange("selection_rate", 0.9, 0.6, -0.4, -0.2)
    holds = group_holds([comparison(pushed)], LIMITS)
    assert len(holds) == 1 and "below the limit 0.80" in holds[0].reason
    assert "to 0.60 from the champion's 0.90" in holds[0].reason
    already_below = RatioChange("selection_rate", 0.75, 0.6, -0.25, -0.1)
    uncertain = RatioChange("selection_rate", 0.84, 0.71, -0.2, 0.02)
    assert group_holds([comparison(already_below)], LIMITS) == []
    assert group_holds([comparison(uncertain)], LIMITS) == []


def test_no_champion_no_hold() -> None:
    alone = AttributeComparison("pensioner", _figures({"pensioner": 0.5, "other": 0.01}), None, ())
    assert group_holds([alone], LIMITS) == []
