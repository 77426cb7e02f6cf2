"""Who gets flagged, group by group: figures at the operating point with bootstrap intervals,
and the paired change from the champion to the challenger on the same rows.

The per-group figures come from fairlearn's ``MetricFrame``; the intervals and the paired test
resample rows with Poisson weights in one matrix product (a ``MetricFrame`` bootstrap takes tens
of seconds a month on a holdout, this takes a fraction of one)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate
from sklearn.metrics import precision_score, recall_score

# The figures per group; the first two need no label beyond who is innocent for the rate.
FIGURES: tuple[str, ...] = ("selection_rate", "false_positive_rate", "recall", "precision")
JUDGED: tuple[str, ...] = ("selection_rate", "false_positive_rate")  # the gate's figures
INTERVAL = (0.025, 0.975)


def _recall(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(recall_score(y_true, y_pred, zero_division=0))


def _precision(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(precision_score(y_true, y_pred, zero_division=0))


METRICS = {
    "selection_rate": selection_rate,
    "false_positive_rate": false_positive_rate,
    "recall": _recall,
    "precision": _precision,
}


@dataclass(frozen=True)
class LevelFigures:
    """One group of one attribute: its rows, each figure and its 95 % bootstrap interval."""

    level: str
    rows: int
    figures: dict[str, float]
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class AttributeFigures:
    """Every level of one attribute for one model, and the lowest-to-highest ratio per figure."""

    attribute: str
    levels: tuple[LevelFigures, ...]
    ratios: dict[str, float]  # min ÷ max over levels (1: every group alike)

    def level(self, name: str) -> LevelFigures | None:
        return next((lv for lv in self.levels if lv.level == name), None)


@dataclass(frozen=True)
class Shift:
    """How much more the challenger flags one group than the champion did, beyond what the move
    of its operating point does to everyone else: the group's figure minus the champion's
    scaled by the rest's change (``excess``), on the same resampled rows, with its interval."""

    level: str
    figure: str
    group: tuple[float, float]  # champion, challenger
    rest: tuple[float, float]  # champion, challenger, for every applicant not in the group
    excess: float
    low: float
    high: float


def poisson_weights(rows: int, samples: int, seed: int) -> np.ndarray:
    """Bootstrap weights (samples × rows): each row drawn Poisson(1) times, a resample each."""
    return np.random.default_rng(seed).poisson(1.0, size=(samples, rows)).astype(np.float32)


def weighted_means(weights: np.ndarray, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per resample: the weighted mean of ``values`` over the rows in ``mask``."""
    w = weights[:, mask]
    total = w.sum(axis=1)
    rates: np.ndarray = np.divide(
        w @ values[mask], total, out=np.full(len(total), np.nan), where=total > 0
    )
    return rates


def _masks(
    y: np.ndarray, flagged: np.ndarray, in_group: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For each figure: the value averaged and the rows it averages over."""
    f = flagged.astype(np.float32)
    return {
        "selection_rate": (f, in_group),
        "false_positive_rate": (f, in_group & (y == 0)),
        "recall": (f, in_group & (y == 1)),
        "precision": (y.astype(np.float32), in_group & flagged),
    }


def _interval(samples: np.ndarray) -> tuple[float, float]:
    finite = samples[np.isfinite(samples)]
    if not len(finite):
        return (float("nan"), float("nan"))
    low, high = np.quantile(finite, INTERVAL)
    return (float(low), float(high))


def group_figures(
    attribute: str, levels: np.ndarray, y: np.ndarray, flagged: np.ndarray, weights: np.ndarray
) -> AttributeFigures:
    """One model's figures per level of one attribute (``flagged``: score at or over threshold)."""
    frame = MetricFrame(
        metrics=METRICS, y_true=y, y_pred=flagged.astype(int), sensitive_features=levels
    )
    by_group = frame.by_group
    found = []
    for level in by_group.index:
        in_group = levels == level
        masks = _masks(y, flagged.astype(bool), in_group)
        found.append(
            LevelFigures(
                level=str(level),
                rows=int(in_group.sum()),
                figures={f: float(by_group.loc[level, f]) for f in FIGURES},
                intervals={f: _interval(weighted_means(weights, *masks[f])) for f in FIGURES},
            )
        )
    ratios = frame.ratio()
    return AttributeFigures(attribute, tuple(found), {f: float(ratios[f]) for f in JUDGED})


def _excess(
    weights: np.ndarray, new: np.ndarray, old: np.ndarray, group: np.ndarray, rest: np.ndarray
) -> np.ndarray:
    """Per resample: the group's challenger figure minus its champion figure times the rest's
    challenger ÷ champion figure (0 when the group moved in proportion with everyone else)."""
    rest_old = weighted_means(weights, old, rest)
    scale = np.divide(
        weighted_means(weights, new, rest),
        rest_old,
        out=np.full(len(rest_old), np.nan),
        where=rest_old > 0,
    )
    excess: np.ndarray = (
        weighted_means(weights, new, group) - weighted_means(weights, old, group) * scale
    )
    return excess


def paired_shifts(
    levels: np.ndarray,
    y: np.ndarray,
    challenger: np.ndarray,
    champion: np.ndarray,
    weights: np.ndarray,
) -> list[Shift]:
    """Per level and judged figure: the challenger's excess over the champion on the same rows.

    The operating point moves every month (a new threshold flags more or fewer of everyone), so
    a group is compared with the rest of the applicants, not with itself alone."""
    new, old = challenger.astype(np.float32), champion.astype(np.float32)
    whole = np.ones((1, len(y)), dtype=np.float32)
    shifts = []
    for level in sorted(set(levels.tolist())):
        in_group = levels == level
        for figure, rows in (("selection_rate", y == y), ("false_positive_rate", y == 0)):
            group, rest = in_group & rows, ~in_group & rows
            if not group.any() or not rest.any():
                continue
            point = float(_excess(whole, new, old, group, rest)[0])
            low, high = _interval(_excess(weights, new, old, group, rest))
            shifts.append(
                Shift(
                    str(level),
                    figure,
                    (float(old[group].mean()), float(new[group].mean())),
                    (float(old[rest].mean()), float(new[rest].mean())),
                    point,
                    low,
                    high,
                )
            )
    return shifts


@dataclass(frozen=True)
class RatioChange:
    """An attribute's lowest-to-highest ratio of one figure, champion and challenger on the same
    rows, and the interval of the challenger's minus the champion's."""

    figure: str
    champion: float
    challenger: float
    low: float
    high: float


def _ratios(weights: np.ndarray, flagged: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """Per resample: lowest ÷ highest of the groups' rates (1 when none is above zero)."""
    rates = np.vstack([weighted_means(weights, flagged, g) for g in groups])
    top = np.nanmax(rates, axis=0)
    ratio: np.ndarray = np.divide(
        np.nanmin(rates, axis=0), top, out=np.ones(len(top)), where=top > 0
    )
    return ratio


def paired_ratio_changes(
    levels: np.ndarray,
    y: np.ndarray,
    challenger: np.ndarray,
    champion: np.ndarray,
    weights: np.ndarray,
    judged: set[str],
) -> list[RatioChange]:
    """Per judged figure: the ratio over the judged levels for both models, paired."""
    new, old = challenger.astype(np.float32), champion.astype(np.float32)
    whole = np.ones((1, len(y)), dtype=np.float32)
    found = []
    for figure, rows in (("selection_rate", y == y), ("false_positive_rate", y == 0)):
        groups = [(levels == level) & rows for level in sorted(judged)]
        groups = [g for g in groups if g.any()]
        if len(groups) < 2:
            continue
        low, high = _interval(_ratios(weights, new, groups) - _ratios(weights, old, groups))
        found.append(
            RatioChange(
                figure,
                float(_ratios(whole, old, groups)[0]),
                float(_ratios(whole, new, groups)[0]),
                low,
                high,
            )
        )
    return found
