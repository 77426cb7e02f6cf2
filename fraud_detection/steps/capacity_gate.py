"""The gate sees capacity: precision and recall at the team's capacity, and the paired
difference in precision when each model flags the capacity's share of the same holdout rows.

Figures only: the rule stays what the settings say (the paired log-loss test by default). The
figures at capacity join the models' holdout metrics, so the month's report shows them side by
side, the challenger's run logs them (``holdout_precision_at_capacity`` …) and the version's tags
carry them to ``/model`` and ``fraud-detection status``; the paired difference is logged as
``capacity_precision_diff_*`` and stands in the report beside the rule."""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

import numpy as np

from fraud_detection.core.capacity import capacity_threshold, share_flagged
from fraud_detection.core.dataset import stable_seed
from fraud_detection.core.evaluation import PairedComparison, metrics_at, paired_bootstrap
from fraud_detection.steps.capacity import ReviewCapacitySettings, Traffic, capacity_of
from fraud_detection.steps.judging import Evaluation, HoldoutScores, PairedBootstrapSettings

# The figures at capacity kept with a version's holdout metrics (core/tags.py HOLDOUT_METRICS).
AT_CAPACITY = (
    "precision_at_capacity",
    "recall_at_capacity",
    "capacity_share",
    "flagged_at_capacity",
)


class CapacityGateSettings(ReviewCapacitySettings, PairedBootstrapSettings, Protocol):
    """The capacity to judge at and the bootstrap that compares the models there."""


def figures_at_capacity(
    y: np.ndarray, probability: np.ndarray, threshold: float, share: float
) -> dict[str, float]:
    """Precision and recall at ``threshold`` (a model's capacity cut) on the holdout, the
    capacity it was cut for and the share of the holdout it flags there."""
    found = metrics_at(y, probability, threshold)
    return {
        "precision_at_capacity": found["precision"],
        "recall_at_capacity": found["recall"],
        "capacity_share": share,
        "flagged_at_capacity": share_flagged(probability, threshold),
    }


def precision_difference(
    scores: HoldoutScores, share: float, settings: PairedBootstrapSettings
) -> PairedComparison | None:
    """Challenger − champion precision, each flagging ``share`` of the same holdout rows, with
    the project's paired bootstrap (None without a champion)."""
    p_old, p_new = scores.champion_probability, scores.challenger_probability
    if p_old is None or not len(scores.y):
        return None
    return paired_bootstrap(
        scores.y,
        (p_old, capacity_threshold(p_old, share)),
        (p_new, capacity_threshold(p_new, share)),
        metric="precision",
        samples=settings.bootstrap_samples,
        seed=stable_seed(settings.seed, f"capacity-{scores.month}"),
    )


def at_capacity(
    settings: CapacityGateSettings, evaluation: Evaluation, traffic: Traffic
) -> Evaluation:
    """The evaluation with each model's figures at capacity among its holdout metrics and the
    paired precision difference; unchanged without a capacity. The challenger's are at its own
    capacity cut (the threshold it will serve with); the champion's at the score that flags the
    capacity's share of this holdout, as in the paired difference (its served threshold may
    have been cut before a capacity was set)."""
    share = capacity_of(settings, traffic)
    scores = evaluation.scores
    if share is None or not len(scores.y):
        return evaluation
    y = scores.y
    new = scores.challenger_metrics | figures_at_capacity(
        y, scores.challenger_probability, scores.challenger.threshold, share
    )
    old = scores.champion_metrics
    p_old = scores.champion_probability
    if old is not None and p_old is not None:
        old = old | figures_at_capacity(y, p_old, capacity_threshold(p_old, share), share)
    return replace(
        evaluation,
        scores=replace(scores, challenger_metrics=new, champion_metrics=old),
        precision_at_capacity=precision_difference(scores, share, settings),
    )


def capacity_line(evaluation: Evaluation) -> str:
    """The report's line beside the rule ("" without a capacity or a champion)."""
    c, metrics = evaluation.precision_at_capacity, evaluation.scores.challenger_metrics
    if c is None or "capacity_share" not in metrics:
        return ""
    interval = (
        f"95 % paired bootstrap interval {c.low:+.4f} … {c.high:+.4f}"
        if np.isfinite(c.low)
        else "no interval: too few frauds in the holdout"
    )
    return (
        f"\n- Precision at capacity (challenger − champion, each flagging "
        f"{metrics['capacity_share']:.1%} of the same holdout rows): {c.difference:+.4f} "
        f"({interval}); for information, the rule above decides"
    )
