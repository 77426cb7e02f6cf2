"""The gate's group check: a challenger that flags one group more than the champion did, on the
same holdout rows, or that pushes an attribute's between-group ratio past the limit, is held.

The share flagged needs no label, so the check still sees a month whose labels are biased the
same way as the challenger trained on them (its holdout carries the bias too)."""

from __future__ import annotations

from dataclasses import dataclass

from fraud_detection.core.groups import AttributeFigures, RatioChange, Shift
from fraud_detection.core.holds import Hold
from fraud_detection.core.score_shift import ScoreShift

CHECK = "groups"
FIGURE_WORDS = {"selection_rate": "share flagged", "false_positive_rate": "false-positive rate"}


@dataclass(frozen=True)
class GroupLimits:
    """How far a challenger may move a group before the month is held."""

    tolerance: float  # largest rise of a group's figure (absolute) the gate lets through
    ratio_limit: float  # lowest-to-highest ratio an attribute must not be pushed below
    min_rows: int  # smaller groups are reported, not judged
    log_odds_tolerance: float = float("inf")  # largest rise of a group's mean log-odds, beyond
    # the rest's, the gate lets through


@dataclass(frozen=True)
class AttributeComparison:
    """One attribute on the holdout: each model's figures and the paired shifts."""

    attribute: str
    challenger: AttributeFigures
    champion: AttributeFigures | None
    shifts: tuple[Shift, ...]
    ratios: tuple[RatioChange, ...] = ()  # over the groups large enough to judge
    score_shifts: tuple[ScoreShift, ...] = ()  # mean log-odds change, group vs rest


def _judged_levels(comparison: AttributeComparison, limits: GroupLimits) -> set[str]:
    return {lv.level for lv in comparison.challenger.levels if lv.rows >= limits.min_rows}


def _shift_holds(comparison: AttributeComparison, limits: GroupLimits) -> list[Hold]:
    """A group flagged more than the rest's move explains, beyond the tolerance with confidence
    (the interval's low end)."""
    judged = _judged_levels(comparison, limits)
    holds = []
    for s in comparison.shifts:
        if s.level not in judged or not s.low > limits.tolerance:
            continue
        holds.append(
            Hold(
                CHECK,
                "Flagging as many applicants as the champion, the challenger raises the "
                f"{FIGURE_WORDS[s.figure]} of {comparison.attribute} = "
                f"{s.level} from {s.group[0]:.1%} to {s.group[1]:.1%} while the rest's moves from "
                f"{s.rest[0]:.1%} to {s.rest[1]:.1%}: {s.excess:+.1%} beyond the rest's move "
                f"(95 % interval {s.low:+.1%} … {s.high:+.1%}), over the tolerance of "
                f"{limits.tolerance:.1%} (FRAUD_GROUP_TOLERANCE).",
            )
        )
    return holds


def _ratio_holds(comparison: AttributeComparison, limits: GroupLimits) -> list[Hold]:
    """An attribute whose lowest-to-highest ratio the challenger pushes below the limit, by more
    than the tolerance with confidence (the interval's high end)."""
    holds = []
    for r in comparison.ratios:
        if r.challenger < limits.ratio_limit <= r.champion and r.high < -limits.tolerance:
            holds.append(
                Hold(
                    CHECK,
                    f"Flagging as many applicants as the champion, the challenger pushes the "
                    f"{FIGURE_WORDS[r.figure]} ratio between {comparison.attribute} groups "
                    f"(lowest ÷ highest) to {r.challenger:.2f} from the champion's "
                    f"{r.champion:.2f} (95 % interval of the change {r.low:+.2f} … {r.high:+.2f}),"
                    f" below the limit {limits.ratio_limit:.2f} (FRAUD_GROUP_RATIO_LIMIT).",
                )
            )
    return holds


def _score_holds(comparison: AttributeComparison, limits: GroupLimits) -> list[Hold]:
    """A group the challenger scores as likelier fraud than the champion did, beyond the rest's
    move, by more than the tolerance with confidence (the interval's low end)."""
    judged = _judged_levels(comparison, limits)
    return [
        Hold(
            CHECK,
            f"The challenger scores {comparison.attribute} = {s.level} as likelier fraud than "
            f"the champion did: their mean log-odds rise by {s.group:+.2f} against the rest's "
            f"{s.rest:+.2f}, {s.excess:+.2f} beyond (95 % interval {s.low:+.2f} … {s.high:+.2f}),"
            f" over the tolerance of {limits.log_odds_tolerance:.2f} "
            "(FRAUD_GROUP_LOG_ODDS_TOLERANCE).",
        )
        for s in comparison.score_shifts
        if s.level in judged and s.low > limits.log_odds_tolerance
    ]


def group_holds(comparisons: list[AttributeComparison], limits: GroupLimits) -> list[Hold]:
    """Every hold of the group check (none without a champion: nothing to compare with)."""
    holds: list[Hold] = []
    for comparison in comparisons:
        if comparison.champion is None:
            continue
        holds += _shift_holds(comparison, limits) + _ratio_holds(comparison, limits)
        holds += _score_holds(comparison, limits)
    return holds
