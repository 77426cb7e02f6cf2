"""The group check as a step: both models' figures per group on the month's holdout, the holds
of the gate's group check, the metrics on the challenger's run, the table and the report text."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from fraud_detection.core.dataset import stable_seed
from fraud_detection.core.group_gate import AttributeComparison, GroupLimits, group_holds
from fraud_detection.core.group_spec import parse_attributes
from fraud_detection.core.groups import (
    FIGURES,
    AttributeFigures,
    group_figures,
    paired_ratio_changes,
    paired_shifts,
    poisson_weights,
)
from fraud_detection.core.holds import Hold
from fraud_detection.core.score_shift import ScoreShift, score_shifts
from fraud_detection.settings.fairness import FairnessSettings
from fraud_detection.steps.judging import HoldoutScores
from fraud_detection.steps.ports import ModelWriter

FIGURE_SHORT = {
    "selection_rate": "flagged",
    "false_positive_rate": "fpr",
    "recall": "recall",
    "precision": "precision",
}


@dataclass(frozen=True)
class GroupJudgement:
    """The figures per attribute and the holds they raise."""

    comparisons: tuple[AttributeComparison, ...]
    holds: tuple[Hold, ...]
    min_rows: int


def _large(levels: np.ndarray, min_rows: int) -> set[str]:
    names, counts = np.unique(levels, return_counts=True)
    return {str(n) for n, c in zip(names, counts, strict=True) if c >= min_rows}


def at_share(probability: np.ndarray, share: float) -> np.ndarray:
    """The challenger's flags at the champion's overall share flagged: the same number of
    applicants flagged, so what differs is only who (how many flagged is another check's)."""
    if share <= 0:
        return np.zeros(len(probability), dtype=bool)
    cut = np.quantile(probability, 1 - share, method="higher")
    return np.asarray(probability >= cut)


class GroupLimitSettings(Protocol):
    """How far a group may fall behind the rest before the gate holds."""

    @property
    def group_tolerance(self) -> float: ...
    @property
    def group_ratio_limit(self) -> float: ...
    @property
    def group_min_rows(self) -> int: ...
    @property
    def group_log_odds_tolerance(self) -> float: ...


class GroupFiguresSettings(Protocol):
    """Which groups to figure, and the bootstrap their figures' intervals come from."""

    @property
    def group_attributes(self) -> list[str]: ...
    @property
    def group_bootstrap_samples(self) -> int: ...
    @property
    def seed(self) -> int: ...


class GroupCheckSettings(GroupLimitSettings, GroupFiguresSettings, Protocol):
    """What the gate's group check reads: the limits, the groups, and the holdout size from
    which score shifts are judged."""

    @property
    def group_min_holdout(self) -> int: ...


def limits_of(settings: GroupLimitSettings) -> GroupLimits:
    return GroupLimits(
        settings.group_tolerance,
        settings.group_ratio_limit,
        settings.group_min_rows,
        settings.group_log_odds_tolerance,
    )


def _score_shifts(
    scores: HoldoutScores, levels: np.ndarray, weights: np.ndarray, min_holdout: int
) -> tuple[ScoreShift, ...]:
    """Each group's log-odds change beyond the rest's (none without a champion, nor on a holdout
    too small for the test to tell a bias from the noise of fitting)."""
    if scores.champion_probability is None or scores.holdout_rows < min_holdout:
        return ()
    return tuple(
        score_shifts(levels, scores.challenger_probability, scores.champion_probability, weights)
    )


def judge_groups(
    settings: GroupCheckSettings, scores: HoldoutScores, holdout: pd.DataFrame
) -> GroupJudgement:
    """Each attribute's figures for challenger and champion on the same rows, and the holds."""
    y = scores.y
    new = scores.challenger_probability >= scores.challenger.threshold
    old = None
    if scores.champion_probability is not None and scores.champion_threshold is not None:
        old = scores.champion_probability >= scores.champion_threshold
    weights = poisson_weights(
        len(y),
        settings.group_bootstrap_samples,
        stable_seed(settings.seed, f"groups {scores.month}"),
    )
    matched = None if old is None else at_share(scores.challenger_probability, float(old.mean()))
    comparisons = []
    for attribute in parse_attributes(settings.group_attributes):
        levels = attribute.levels(holdout)
        comparisons.append(
            AttributeComparison(
                attribute=attribute.name,
                challenger=group_figures(attribute.name, levels, y, new, weights),
                champion=None
                if old is None
                else group_figures(attribute.name, levels, y, old, weights),
                shifts=()
                if old is None or matched is None
                else tuple(paired_shifts(levels, y, matched, old, weights)),
                ratios=()
                if old is None or matched is None
                else tuple(
                    paired_ratio_changes(
                        levels, y, matched, old, weights, _large(levels, settings.group_min_rows)
                    )
                ),
                score_shifts=_score_shifts(scores, levels, weights, settings.group_min_holdout),
            )
        )
    limits = limits_of(settings)
    # Reported whatever the size; judged only on a holdout that can tell a bias from noise.
    judged = scores.holdout_rows >= settings.group_min_holdout
    holds = tuple(group_holds(comparisons, limits)) if judged else ()
    return GroupJudgement(tuple(comparisons), holds, limits.min_rows)


def metric_key(attribute: str, level: str, figure: str) -> str:
    """An MLflow metric name: letters, digits and ``_-./`` only."""
    safe = "".join(c if c.isalnum() or c in "_-." else "_" for c in level.replace("–", "-"))
    return f"group.{attribute}.{safe}.{figure}"


def group_metrics(judgement: GroupJudgement) -> dict[str, float]:
    """``group.<attribute>.<level>.<figure>`` for the challenger (and ``.champion_<figure>``)."""
    metrics: dict[str, float] = {}
    for comparison in judgement.comparisons:
        for role, figures in (("", comparison.challenger), ("champion_", comparison.champion)):
            for level in figures.levels if figures else ():
                metrics[metric_key(comparison.attribute, level.level, f"{role}rows")] = level.rows
                for figure in FIGURES:
                    value = level.figures[figure]
                    if not math.isnan(value):
                        key = metric_key(comparison.attribute, level.level, f"{role}{figure}")
                        metrics[key] = value
        for shift in comparison.score_shifts:
            metrics[metric_key(comparison.attribute, shift.level, "log_odds_excess")] = shift.excess
    return metrics


def record_groups(registry: ModelWriter, run_id: str, judgement: GroupJudgement) -> None:
    registry.log_to_run(run_id, metrics=group_metrics(judgement))


def _rounded(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 4)


def group_rows(judgement: GroupJudgement) -> list[dict[str, Any]]:
    """One row per group: rows, then each figure for champion and challenger (the artifact)."""
    rows = []
    for comparison in judgement.comparisons:
        for level in comparison.challenger.levels:
            old = comparison.champion.level(level.level) if comparison.champion else None
            row: dict[str, Any] = {
                "attribute": comparison.attribute,
                "group": level.level,
                "rows": level.rows,
                "judged": level.rows >= judgement.min_rows,
            }
            for figure in FIGURES:
                short = FIGURE_SHORT[figure]
                row[f"champion {short}"] = _rounded(old.figures[figure]) if old else None
                row[f"challenger {short}"] = _rounded(level.figures[figure])
                low, high = level.intervals.get(figure, (float("nan"), float("nan")))
                row[f"challenger {short} 95 %"] = (
                    None if math.isnan(low) else f"{low:.3f} … {high:.3f}"
                )
            rows.append(row)
    return rows


def _words(judgement: GroupJudgement) -> str:
    """Who the challenger flags more or less often than the champion did, in one sentence."""
    if judgement.holds:
        return " ".join(hold.reason for hold in judgement.holds)
    moved = [
        (c.attribute, s)
        for c in judgement.comparisons
        for s in c.shifts
        if s.figure == "selection_rate" and (s.low > 0 or s.high < 0)
    ]
    if not any(c.champion for c in judgement.comparisons):
        return "No champion to compare with: the challenger's figures per group are below."
    if not moved:
        return "The challenger flags every group about as often as the champion did."
    said = ", ".join(
        f"{a} = {s.level} {'more' if s.excess > 0 else 'less'} often than the rest's move "
        f"explains ({s.group[0]:.1%} → {s.group[1]:.1%}, {s.excess:+.1%})"
        for a, s in moved
    )
    return f"Against the champion, the challenger flags {said}; within the tolerance."


def _cell(figures: AttributeFigures | None, level: str, figure: str) -> str:
    found = figures.level(level) if figures else None
    return (
        "–"
        if found is None or math.isnan(found.figures[figure])
        else f"{found.figures[figure]:.3f}"
    )


def groups_section(judgement: GroupJudgement | None) -> str:
    """The report's section: the sentence, then a table per attribute."""
    if judgement is None:
        return ""
    lines = [f"## Who gets flagged\n\n{_words(judgement)}\n"]
    lines.append(
        "| attribute | group | rows | flagged (champion → challenger) | false-positive rate | "
        "recall | precision |\n|---|---|---|---|---|---|---|"
    )
    for c in judgement.comparisons:
        for lv in c.challenger.levels:
            cells = [
                f"{_cell(c.champion, lv.level, f)} → {_cell(c.challenger, lv.level, f)}"
                for f in FIGURES
            ]
            small = "" if lv.rows >= judgement.min_rows else " (too few to judge)"
            lines.append(
                f"| {c.attribute} | {lv.level} | {lv.rows:,}{small} | {' | '.join(cells)} |"
            )
    return "\n".join(lines) + "\n"


def holdout_levels(settings: FairnessSettings, holdout: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each attribute's level per holdout row (for a reader outside the step)."""
    return {a.name: a.levels(holdout) for a in parse_attributes(settings.group_attributes)}
