"""The month's end: set ``challenger``, move ``champion`` on a win (compare-and-set), and tag
the challenger with its results, ``decision`` last so a month is never half decided."""

from __future__ import annotations

from dataclasses import dataclass

from fraud_detection.core.gate import Decision
from fraud_detection.core.tags import Verdict, VersionTags
from fraud_detection.steps.intake import MonthData, quarantine
from fraud_detection.steps.judging import Evaluation
from fraud_detection.steps.ports import DecisionBook


@dataclass(frozen=True)
class Outcome:
    """What the month's run left in the registry."""

    month: str
    decision: Decision
    champion_version: str
    challenger_version: str
    served_version: str | None = None  # the refit that became champion, if any


def transition(
    registry: DecisionBook,
    evaluation: Evaluation,
    data: MonthData,
    served_version: str | None = None,
) -> Outcome:
    """Set ``challenger``; move ``champion`` only on a win and only if it has not moved since."""
    version = evaluation.challenger.version
    decision = evaluation.decision
    registry.set_challenger(version)
    if decision.verdict is Verdict.QUARANTINED:
        quarantine(registry, data, evaluation.alarm.reason, run_id=evaluation.challenger.run_id)
    if decision.promote:
        registry.promote(
            served_version or version, expected_champion=evaluation.scores.champion_version
        )
    if served_version and decision.promote:
        registry.set_tags(
            served_version,
            VersionTags(
                decision=Verdict.PROMOTED, decision_reason="refit of the promoted challenger"
            ),
        )
    registry.set_tags(version, _results(evaluation, served_version))
    champion = registry.champion()
    return Outcome(
        evaluation.month,
        decision,
        champion.version if champion else "",
        version,
        served_version if decision.promote else None,
    )


def _results(evaluation: Evaluation, served_version: str | None) -> VersionTags:
    """The challenger's holdout figures and the decision (written last by ``to_tags``)."""
    metrics = evaluation.scores.challenger_metrics
    return VersionTags(
        holdout={
            "pr_auc": metrics["pr_auc"],
            "f1": metrics["f1"],
            "fraud_rate": evaluation.alarm.fraud_rate,
        },
        compared_with=evaluation.scores.compared_version or "",
        decision_reason=evaluation.decision.reason,
        champion_holdout_roc_auc=evaluation.alarm.champion_roc_auc,
        served_as=served_version if evaluation.decision.promote else None,
        decision=evaluation.decision.verdict,
    )
