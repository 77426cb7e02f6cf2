"""The monthly retraining pipeline as plain steps over the lake and the registry.

One line, each step safe to repeat (the Prefect flow wraps each as a task):

already decided? (registry only, nothing read) → fetch → validate (pure) → split once →
gather the pool and lineage → train or reuse the challenger → evaluate (pure: scores, metrics,
paired test, data alarm) → decide → refit the served model (on promotion) → record to MLflow →
transition aliases (compare-and-set) → report.

A month that fails validation or raises the data alarm is quarantined: its bytes stay as they
are, the schedule skips it, and a corrected delivery of the month is trained and judged.
"""

from __future__ import annotations

from dataclasses import dataclass

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.registry import DECIDED, Registry, lineage_hash
from fraud_detection.config import Settings
from fraud_detection.core import plots
from fraud_detection.core.dataset import MonthSplit, month_age
from fraud_detection.core.decision import Decision
from fraud_detection.core.training import TrainingPart
from fraud_detection.steps.challengers import TrainingInputs
from fraud_detection.steps.intake import BASE, MonthData, fetch, quarantine, validate
from fraud_detection.steps.judging import Evaluation
from fraud_detection.steps.ports import DecisionBook, Deliveries


@dataclass(frozen=True)
class Outcome:
    month: str
    decision: Decision
    champion_version: str
    challenger_version: str
    served_version: str | None = None  # the refit that became champion, if any


def next_month(lake: Deliveries, registry: DecisionBook) -> str | None:
    """The earliest month with no decision whose delivery in force is not quarantined."""
    decided = registry.decided_months()
    quarantined = registry.quarantined()
    for month in lake.list_months():
        if month in decided:
            continue
        if month in quarantined and _still_quarantined(lake, month, quarantined[month]):
            continue
        return month
    return None


def _still_quarantined(lake: Deliveries, month: str, record: dict[str, str]) -> bool:
    """The delivery in force is the one quarantined (only such months' bytes are read here)."""
    if record["path"] != lake.latest(month):
        return False  # a corrected delivery beside it
    return lake.fetch(month)[1].sha256 == record["sha256"]  # or the file was replaced in place


def already_decided(registry: DecisionBook, month: str) -> dict[str, str] | None:
    """The decided version of a month, if any (the registry only: no data is read)."""
    for version in registry.versions():
        tags = version.tags
        if tags.get("month") == month and tags.get("decision") in DECIDED:
            if tags.get("role") == "refit":
                continue
            return {"version": str(version.version), "decision": tags["decision"]}
    return None


def gather(
    lake: Lake, registry: Registry, data: MonthData, month_split: MonthSplit
) -> TrainingInputs:
    """Base + decided earlier months + this month's training part, with ages and lineage."""
    month = data.ref.name
    decided = registry.decided_months()
    earlier = [m for m in lake.list_months() if m < month and m in decided]
    base = fetch(lake, BASE)
    parts = []
    lineage = [base.ref]
    oldest = min([*earlier, month])
    parts.append(TrainingPart(BASE, validate(base), month_age(month, oldest) + 1))
    for name in earlier:
        earlier_data = fetch(lake, name)
        parts.append(TrainingPart(name, validate(earlier_data), month_age(month, name)))
        lineage.append(earlier_data.ref)
    lineage.append(data.ref)  # the month itself: its bytes are part of the reuse key
    parts.append(TrainingPart(month, month_split.train, 0.0))
    return TrainingInputs(month, parts, month_split.holdout, lineage, lineage_hash(lineage))


def record(registry: Registry, evaluation: Evaluation) -> None:
    """Holdout metrics, the paired test, the alarm and the plots on the challenger's run."""
    run_id = evaluation.challenger.run_id
    logged = {f"holdout_{k}": v for k, v in evaluation.scores.challenger_metrics.items()}
    if evaluation.scores.champion_metrics is not None:
        logged |= {
            f"champion_holdout_{k}": v for k, v in evaluation.scores.champion_metrics.items()
        }
    if evaluation.test is not None:
        logged |= {
            f"gate_{k}": v for k, v in evaluation.test.as_dict().items() if isinstance(v, float)
        }
    if evaluation.pr_auc is not None:
        logged |= {
            f"pr_auc_diff_{k}": v
            for k, v in evaluation.pr_auc.as_dict().items()
            if isinstance(v, float)
        }
    tags = {
        "data_alarm": "raised" if evaluation.alarm.raised else "none",
        "decision_reason": evaluation.decision.reason[:5000],
    }
    if evaluation.alarm.raised:
        tags["data_alarm_reason"] = evaluation.alarm.reason
    registry.log_to_run(run_id, metrics=logged, tags=tags)
    y = evaluation.scores.y
    registry.client.log_figure(
        run_id, plots.pr_curves(y, evaluation.scores.curves), "plots/holdout_pr.png"
    )
    registry.client.log_figure(
        run_id,
        plots.confusion(
            evaluation.scores.challenger_metrics, f"challenger v{evaluation.challenger.version}"
        ),
        "plots/holdout_confusion.png",
    )


def transition(
    registry: DecisionBook,
    settings: Settings,
    evaluation: Evaluation,
    data: MonthData,
    served_version: str | None = None,
) -> Outcome:
    """Set ``challenger``; move ``champion`` only on a win and only if it has not moved since."""
    version = evaluation.challenger.version
    decision = evaluation.decision
    registry.set_challenger(version)
    if decision.verdict == "quarantined":
        quarantine(registry, data, evaluation.alarm.reason, run_id=evaluation.challenger.run_id)
    promoted = served_version or version
    if decision.promote:
        registry.promote(promoted, expected_champion=evaluation.scores.champion_version)
    champion = registry.champion()
    tags = {
        "holdout_pr_auc": f"{evaluation.scores.challenger_metrics['pr_auc']:.4f}",
        "holdout_f1": f"{evaluation.scores.challenger_metrics['f1']:.4f}",
        "holdout_fraud_rate": f"{evaluation.alarm.fraud_rate:.6f}",
        "compared_with": evaluation.scores.compared_version or "",
        "decision_reason": decision.reason[:5000],
    }
    if evaluation.alarm.champion_roc_auc is not None:
        tags["champion_holdout_roc_auc"] = f"{evaluation.alarm.champion_roc_auc:.4f}"
    if served_version and decision.promote:
        tags["served_as"] = served_version
        registry.set_tags(
            served_version,
            {"decision": "promoted", "decision_reason": "refit of the promoted challenger"},
        )
    tags["decision"] = decision.verdict  # last: it marks the month as finished
    registry.set_tags(version, tags)
    return Outcome(
        evaluation.month,
        decision,
        champion.version if champion else "",
        version,
        served_version if decision.promote else None,
    )


def record_report(registry: Registry, evaluation: Evaluation, markdown: str) -> None:
    registry.log_to_run(evaluation.challenger.run_id, text={"report.md": markdown})
