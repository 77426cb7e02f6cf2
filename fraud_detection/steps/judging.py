"""Judge the challenger against the champion on the same holdout (nothing is written).

Two steps, two tasks in the flow: ``evaluate`` scores both models (probabilities, metrics);
``compare_with_champion`` judges those scores (the gate's paired test, the data alarm, the
verdict), so the comparison is a step of its own that a user sees, times and retries."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
import pandas as pd

from fraud_detection.core.alarm import Alarm, data_alarm
from fraud_detection.core.dataset import stable_seed
from fraud_detection.core.evaluation import (
    PairedComparison,
    metrics_at,
    paired_bootstrap,
    predict_proba,
)
from fraud_detection.core.explain import ImportanceShift, importance_shift
from fraud_detection.core.features import FEATURES, TARGET_COLUMN, feature_matrix
from fraud_detection.core.gate import Decision, PairedTest, decide, prior_corrected
from fraud_detection.core.holds import Hold, held_or
from fraud_detection.core.model_inputs import used_features
from fraud_detection.core.params import GateRule
from fraud_detection.core.tags import BASE_MONTH, EXTERNAL_MONTH, Verdict, VersionTags
from fraud_detection.settings.training import TrainingSettings
from fraud_detection.steps.challengers import Challenger
from fraud_detection.steps.ports import ModelWriter, RegistryReader, VersionView

ALARM_HISTORY = 3  # recent months whose champion quality sets the alarm's reference


@dataclass(frozen=True)
class HoldoutScores:
    """Both models scored on the month's holdout, which neither trained on (no judgement yet)."""

    month: str
    challenger: Challenger
    champion_version: str | None  # the champion when the evaluation began (compare-and-set)
    compared_version: str | None  # the model scored against the challenger
    challenger_metrics: dict[str, float]
    champion_metrics: dict[str, float] | None
    y: np.ndarray = field(repr=False)
    challenger_probability: np.ndarray = field(repr=False)
    champion_probability: np.ndarray | None = field(repr=False)
    champion_threshold: float | None = None
    champion_trained_rate: float | None = None
    importance: ImportanceShift | None = field(default=None, repr=False)  # what each relies on
    challenger_inputs: tuple[str, ...] = FEATURES  # the features each model takes (its booster's)
    champion_inputs: tuple[str, ...] | None = None

    @property
    def holdout_rows(self) -> int:
        return len(self.y)

    @property
    def fraud_rate(self) -> float:
        return float(np.mean(self.y)) if len(self.y) else 0.0

    @property
    def curves(self) -> dict[str, tuple[np.ndarray, float]]:
        """Each model's scores and threshold, for the PR curves of the report."""
        found = {
            f"challenger v{self.challenger.version}": (
                self.challenger_probability,
                self.challenger.threshold,
            )
        }
        if self.champion_probability is not None and self.champion_threshold is not None:
            found[f"champion v{self.compared_version}"] = (
                self.champion_probability,
                self.champion_threshold,
            )
        return found


@dataclass(frozen=True)
class Evaluation:
    """The scores and the judgement on them: the gate's paired test, the data alarm, the verdict."""

    scores: HoldoutScores
    test: PairedTest | None
    decision: Decision
    alarm: Alarm
    pr_auc: PairedComparison | None  # paired bootstrap of PR-AUC, for the report
    holds: tuple[Hold, ...] = ()  # what a person must weigh before the challenger is served
    precision_at_capacity: PairedComparison | None = None  # with a capacity: for the report

    @property
    def month(self) -> str:
        return self.scores.month

    @property
    def challenger(self) -> Challenger:
        return self.scores.challenger


def _reference_quality(registry: RegistryReader, month: str) -> tuple[list[float], list[float]]:
    """The champion's holdout ROC-AUC and the fraud rate of the latest decided months."""
    first = (BASE_MONTH, EXTERNAL_MONTH)  # a first champion: bootstrapped, or a model file
    judged = [
        v.tags
        for v in registry.versions()
        if v.tags.judged and v.tags.month and (v.tags.month < month or v.tags.month in first)
    ]
    base_like = [t for t in judged if t.month in first]
    monthly = sorted((t for t in judged if t.month not in first), key=lambda t: t.month or "")
    recent: list[VersionTags] = monthly[-ALARM_HISTORY:] or base_like
    aucs = [t.champion_holdout_roc_auc for t in recent if t.champion_holdout_roc_auc is not None]
    if not aucs:
        aucs = [t.holdout["roc_auc"] for t in base_like if "roc_auc" in t.holdout]
    rates = [t.holdout["fraud_rate"] for t in recent if "fraud_rate" in t.holdout]
    return aucs, rates


def _compared_version(champion: VersionView | None, challenger: Challenger) -> str | None:
    """The model to score against the challenger: the champion, or on a retry after the
    promotion (the challenger or its refit already champion) the one it replaced."""
    if champion is None:
        return None
    if champion.version == challenger.version or champion.tags.refit_of == challenger.version:
        return champion.tags.promoted_from or None
    return champion.version


class PairedBootstrapSettings(Protocol):
    """How the paired bootstrap resamples: how many times, from which seed."""

    @property
    def bootstrap_samples(self) -> int: ...
    @property
    def seed(self) -> int: ...


class ComparisonSettings(PairedBootstrapSettings, Protocol):
    """What judging a challenger against the champion reads: the gate's rule, the bootstrap
    and the data alarm's limits."""

    def gate_rule(self) -> GateRule: ...
    @property
    def alarm_auc_drop(self) -> float: ...
    @property
    def alarm_rate_factor(self) -> float: ...


def evaluate(
    registry: ModelWriter, settings: TrainingSettings, challenger: Challenger, holdout: pd.DataFrame
) -> HoldoutScores:
    """Score the challenger and the champion on the same holdout: probabilities and metrics."""
    champion = registry.champion()
    compared = _compared_version(champion, challenger)
    matrix = feature_matrix(holdout)
    y = holdout[TARGET_COLUMN].to_numpy()
    new_booster = registry.load_booster(challenger.version)
    p_new = predict_proba(new_booster, matrix)
    old_booster = p_old = old_metrics = old_threshold = old_rate = None
    if compared is not None:
        tags = registry.version(compared).tags
        old_threshold = tags.threshold_or(settings.default_threshold)
        old_rate = (
            settings.train_positive_rate
            if tags.trained_positive_rate is None
            else tags.trained_positive_rate
        )
        old_booster = registry.load_booster(compared)
        p_old = predict_proba(old_booster, matrix)
        old_metrics = metrics_at(y, p_old, old_threshold)
    return HoldoutScores(
        month=challenger.month,
        challenger=challenger,
        champion_version=champion.version if champion else None,
        compared_version=compared,
        challenger_metrics=metrics_at(y, p_new, challenger.threshold),
        champion_metrics=old_metrics,
        y=y,
        challenger_probability=p_new,
        champion_probability=p_old,
        champion_threshold=old_threshold,
        champion_trained_rate=old_rate,
        importance=importance_shift(new_booster, old_booster, matrix),
        challenger_inputs=used_features(new_booster),
        champion_inputs=None if old_booster is None else used_features(old_booster),
    )


def compare_with_champion(
    registry: RegistryReader, settings: ComparisonSettings, scores: HoldoutScores
) -> Evaluation:
    """Judge the scores: the gate's paired test, the PR-AUC bootstrap, the data alarm, the verdict."""
    y, p_new, p_old = scores.y, scores.challenger_probability, scores.champion_probability
    challenger = scores.challenger
    test = pr_auc = None
    if p_old is not None:
        assert scores.champion_threshold is not None and scores.champion_trained_rate is not None
        rate = scores.fraud_rate
        if len(np.unique(y)) == 2:  # PR-AUC is undefined on a single class (the gate says so)
            pr_auc = paired_bootstrap(
                y,
                (p_old, scores.champion_threshold),
                (p_new, challenger.threshold),
                metric="pr_auc",
                samples=settings.bootstrap_samples,
                seed=stable_seed(settings.seed, challenger.month),
            )
        decision, test = decide(
            y,
            prior_corrected(p_old, trained_rate=scores.champion_trained_rate, target_rate=rate),
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
            Verdict.QUARANTINED,
            f"{alarm.reason} The month is quarantined and the champion kept, whatever the "
            f"challenger scores ({decision.reason})",
        )
    return Evaluation(scores, test, decision, alarm, pr_auc)


def with_holds(evaluation: Evaluation, holds: tuple[Hold, ...] | list[Hold]) -> Evaluation:
    """The evaluation with more holds: a promotion by rule becomes ``held`` when any stands.

    Each check (groups, capacity, label maturity, approval) adds its holds here, one call each,
    so the verdict and the report see every hold together."""
    if not holds:
        return evaluation
    every = (*evaluation.holds, *holds)
    return replace(evaluation, holds=every, decision=held_or(evaluation.decision, every))
