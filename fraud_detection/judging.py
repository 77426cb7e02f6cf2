"""Judge the challenger against the champion on the same holdout (pure: nothing is written):
metrics, the paired test behind the gate, and the data alarm."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fraud_detection.challengers import Challenger
from fraud_detection.config import Settings
from fraud_detection.dataset import stable_seed
from fraud_detection.decision import (
    Alarm,
    Decision,
    PairedTest,
    data_alarm,
    decide,
    prior_corrected,
)
from fraud_detection.evaluation import PairedComparison, metrics_at, paired_bootstrap, predict_proba
from fraud_detection.features import (
    TARGET_COLUMN,
    feature_matrix,
)
from fraud_detection.intake import BASE
from fraud_detection.registry import DECIDED, Registry

ALARM_HISTORY = 3  # recent months whose champion quality sets the alarm's reference


@dataclass(frozen=True)
class Evaluation:
    month: str
    challenger: Challenger
    champion_version: str | None  # the champion when the evaluation began (compare-and-set)
    compared_version: str | None  # the model scored against the challenger
    challenger_metrics: dict[str, float]
    champion_metrics: dict[str, float] | None
    test: PairedTest | None
    decision: Decision
    alarm: Alarm
    pr_auc: PairedComparison | None  # paired bootstrap of PR-AUC, for the report
    holdout_rows: int
    curves: dict[str, tuple[np.ndarray, float]] = field(default_factory=dict, repr=False)
    y: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)


def _reference_quality(registry: Registry, month: str) -> tuple[list[float], list[float]]:
    """The champion's holdout ROC-AUC and the fraud rate of the latest decided months."""
    rows = []
    for version in registry.versions():
        tags = version.tags
        earlier = tags.get("month", "") < month or tags.get("month") == BASE
        if tags.get("decision") in DECIDED and tags.get("role") != "refit" and earlier:
            rows.append(tags)
    base_like = [t for t in rows if t.get("month") == BASE]
    monthly = sorted((t for t in rows if t.get("month") != BASE), key=lambda t: t["month"])
    recent = monthly[-ALARM_HISTORY:] or base_like
    aucs = [float(t["champion_holdout_roc_auc"]) for t in recent if "champion_holdout_roc_auc" in t]
    if not aucs:
        aucs = [float(t["holdout_roc_auc"]) for t in base_like if "holdout_roc_auc" in t]
    rates = [float(t["holdout_fraud_rate"]) for t in recent if "holdout_fraud_rate" in t]
    return aucs, rates


def evaluate(
    registry: Registry, settings: Settings, challenger: Challenger, holdout: pd.DataFrame
) -> Evaluation:
    """Score both models on the same holdout, test the paired difference, check the data."""
    champion = registry.champion()
    champion_version = champion.version if champion else None
    compared = champion_version
    if champion is not None and champion.version == challenger.version:
        compared = champion.tags.get("promoted_from") or None  # a retry after the promotion
    if champion is not None and champion.tags.get("refit_of") == challenger.version:
        compared = champion.tags.get("promoted_from") or None  # its refit was promoted already
    matrix = feature_matrix(holdout)
    y = holdout[TARGET_COLUMN].to_numpy()
    rate = float(np.mean(y))
    p_new = predict_proba(registry.load_booster(challenger.version), matrix)
    new_metrics = metrics_at(y, p_new, challenger.threshold)
    curves = {f"challenger v{challenger.version}": (p_new, challenger.threshold)}
    old_metrics = p_old = test = pr_auc = None
    if compared is not None:
        tags = registry.version(compared).tags
        old_threshold = float(tags.get("threshold", settings.default_threshold))
        old_rate = float(tags.get("trained_positive_rate", settings.train_positive_rate))
        p_old = predict_proba(registry.load_booster(compared), matrix)
        old_metrics = metrics_at(y, p_old, old_threshold)
        curves[f"champion v{compared}"] = (p_old, old_threshold)
        pr_auc = paired_bootstrap(
            y,
            (p_old, old_threshold),
            (p_new, challenger.threshold),
            metric="pr_auc",
            samples=settings.bootstrap_samples,
            seed=stable_seed(settings.seed, challenger.month) % (2**31),
        )
        decision, test = decide(
            y,
            prior_corrected(p_old, trained_rate=old_rate, target_rate=rate),
            prior_corrected(p_new, trained_rate=challenger.positive_rate, target_rate=rate),
            settings.gate_rule(),
        )
    else:
        decision, _ = decide(y, None, p_new, settings.gate_rule())
    aucs, rates = _reference_quality(registry, challenger.month)
    alarm = data_alarm(
        y,
        p_old,
        reference_roc_auc=aucs,
        reference_fraud_rates=rates,
        max_auc_drop=settings.alarm_auc_drop,
        max_rate_factor=settings.alarm_rate_factor,
    )
    if alarm.raised:
        decision = Decision(
            False,
            f"{alarm.reason} The month is quarantined and the champion kept, whatever the "
            f"challenger scores ({decision.reason})",
            verdict="quarantined",
        )
    return Evaluation(
        challenger.month,
        challenger,
        champion_version,
        compared,
        new_metrics,
        old_metrics,
        test,
        decision,
        alarm,
        pr_auc,
        len(holdout),
        curves,
        y,
    )
