"""The month's end: set ``challenger``, move ``champion`` on a win (compare-and-set), and tag
the challenger with its results, ``decision`` last so a month is never half decided.

Every write is idempotent and they come in the order that lets a retry after a failure at any
point finish the same state: the refit gets the figures it was judged on before it can be served
(so the service never loads it without them), ``champion`` moves (already moved = done), the
refit is marked promoted, and the challenger's ``decision`` — what makes the month count as
decided — comes last."""

from __future__ import annotations

from dataclasses import dataclass

from fraud_detection.core.gate import Decision
from fraud_detection.core.tags import HOLDOUT_METRICS, Verdict, VersionTags
from fraud_detection.steps.intake import MonthData, quarantine
from fraud_detection.steps.judging import Evaluation
from fraud_detection.steps.ports import DecisionWriter


@dataclass(frozen=True)
class TransitionResult:
    """What the month's run left in the registry."""

    month: str
    decision: Decision
    champion_version: str
    challenger_version: str
    served_version: str | None = None  # the refit that became champion, if any


def apply_verdict(
    registry: DecisionWriter,
    evaluation: Evaluation,
    data: MonthData,
    served_version: str | None = None,
) -> TransitionResult:
    """Set ``challenger``; move ``champion`` only on a win and only if it has not moved since."""
    version = evaluation.challenger.version
    decision = evaluation.decision
    results = _results(evaluation, served_version)
    registry.set_challenger(version)
    if decision.verdict is Verdict.QUARANTINED:
        quarantine(registry, data, evaluation.alarm.reason, run_id=evaluation.challenger.run_id)
    if decision.promote:
        if served_version:  # what /model and `status` show for the served version
            registry.set_tags(served_version, judged_figures(results))
        registry.promote(
            served_version or version, expected_champion=evaluation.scores.champion_version
        )
        if served_version:
            registry.set_tags(
                served_version,
                VersionTags(
                    decision=Verdict.PROMOTED, decision_reason="refit of the promoted challenger"
                ),
            )
    registry.set_tags(version, results)
    champion = registry.champion()
    return TransitionResult(
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
            **{name: metrics[name] for name in HOLDOUT_METRICS if name in metrics},
            "fraud_rate": evaluation.alarm.fraud_rate,
        },
        compared_with=evaluation.scores.compared_version or "",
        decision_reason=evaluation.decision.reason,
        champion_holdout_roc_auc=evaluation.alarm.champion_roc_auc,
        served_as=served_version if evaluation.decision.promote else None,
        decision=evaluation.decision.verdict,
    )


def judged_figures(results: VersionTags) -> VersionTags:
    """The judged challenger's holdout figures, for the refit served in its place (the refit
    trained on that holdout, so these are the figures the recipe was judged on)."""
    return VersionTags(holdout=results.holdout, compared_with=results.compared_with)
