"""The challenger's MLflow run gets the judgement: holdout metrics, the paired test, the data
alarm and the plots."""

from __future__ import annotations

from fraud_detection.core import plots
from fraud_detection.steps.judging import Evaluation
from fraud_detection.steps.ports import ModelWriter


def _prefixed(prefix: str, values: dict[str, float | str | int]) -> dict[str, float]:
    return {f"{prefix}{k}": float(v) for k, v in values.items() if isinstance(v, float)}


def record_evaluation(registry: ModelWriter, evaluation: Evaluation) -> None:
    """Holdout metrics, the paired test, the alarm and the plots on the challenger's run."""
    scores = evaluation.scores
    logged = _prefixed("holdout_", dict(scores.challenger_metrics))
    if scores.champion_metrics is not None:
        logged |= _prefixed("champion_holdout_", dict(scores.champion_metrics))
    if evaluation.test is not None:
        logged |= _prefixed("gate_", evaluation.test.as_dict())
    if evaluation.pr_auc is not None:
        logged |= _prefixed("pr_auc_diff_", evaluation.pr_auc.as_dict())
    if evaluation.precision_at_capacity is not None:  # each model at the capacity's share
        logged |= _prefixed("capacity_precision_diff_", evaluation.precision_at_capacity.as_dict())
    tags = {
        "data_alarm": "raised" if evaluation.alarm.raised else "none",
        "decision_reason": evaluation.decision.reason[:5000],
    }
    if evaluation.alarm.raised:
        tags["data_alarm_reason"] = evaluation.alarm.reason
    run_id = evaluation.challenger.run_id
    registry.log_to_run(run_id, metrics=logged, tags=tags)
    title = f"challenger v{evaluation.challenger.version}"
    registry.log_figures(
        run_id,
        {
            "plots/holdout_pr.png": plots.pr_curves(scores.y, scores.curves),
            "plots/holdout_confusion.png": plots.confusion(scores.challenger_metrics, title),
        },
    )
