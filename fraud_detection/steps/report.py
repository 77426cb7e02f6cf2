"""The month's report in Markdown: the decision in one sentence, then the metrics side by side."""

from __future__ import annotations

from typing import Any

from fraud_detection.core.outcomes import LivePerformance
from fraud_detection.core.redact import redact_uri
from fraud_detection.steps.judging import Evaluation
from fraud_detection.steps.ports import ModelBook
from fraud_detection.steps.transition import Outcome


def report_rows(evaluation: Evaluation) -> list[dict[str, Any]]:
    """Champion and challenger metrics side by side (one row per metric)."""
    rows = []
    for metric in ("pr_auc", "roc_auc", "brier", "f1", "precision", "recall", "threshold"):
        new = evaluation.scores.challenger_metrics[metric]
        old = (
            evaluation.scores.champion_metrics[metric]
            if evaluation.scores.champion_metrics
            else None
        )
        rows.append(
            {
                "metric": metric,
                "champion": None if old is None else round(old, 4),
                "challenger": round(new, 4),
                "difference": None if old is None else round(new - old, 4),
            }
        )
    return rows


def live_section(live: LivePerformance | None) -> str:
    """The served model on this month's outcomes, beside the challenger's holdout figures."""
    head = "## The served model on this month's outcomes\n\n"
    if live is None or live.scores_read == 0:
        labelled = f" ({live.labelled:,} labelled applications)" if live else ""
        return f"{head}No captured scores for this month's applications{labelled}.\n"
    rows = "\n".join(
        f"| {'all' if m.version == 'all' else 'v' + m.version} | {m.matched:,} | "
        f"{m.precision:.4f} | {m.recall:.4f} | {m.f1:.4f} | "
        f"{'–' if m.pr_auc is None else f'{m.pr_auc:.4f}'} | {m.brier:.4f} | "
        f"{m.flagged_share:.1%} | {'–' if m.threshold is None else f'{m.threshold:.4f}'} |"
        for m in (*live.by_version, *([live.overall] if live.overall else []))
    )
    return (
        f"{head}{live.matched:,} of {live.labelled:,} labelled applications were scored by the "
        f"service ({live.unmatched:,} never were). Applications scored more than once "
        f"({live.rescored:,}) count once: the last score captured before this run was "
        "scheduled. Decisions as served, at each version's own threshold.\n\n"
        "| served by | applications | precision | recall | F1 | PR-AUC | Brier | flagged | threshold |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
        f"{rows}\n"
    )


def report_markdown(
    evaluation: Evaluation,
    outcome: Outcome,
    *,
    tracking_uri: str,
    live: LivePerformance | None = None,
) -> str:
    c = evaluation.pr_auc
    pr_line = (
        f"{c.difference:+.4f} (95 % paired bootstrap interval {c.low:+.4f} … {c.high:+.4f})"
        if c
        else "n/a (no champion)"
    )
    table = "\n".join(
        "| {metric} | {old} | {new} | {diff} |".format(
            metric=r["metric"],
            old="–" if r["champion"] is None else r["champion"],
            new=r["challenger"],
            diff="–" if r["difference"] is None else f"{r['difference']:+.4f}",
        )
        for r in report_rows(evaluation)
    )
    verdict = f"**{outcome.decision.verdict}**"
    alarm = evaluation.alarm
    served = (
        f" · served as v{outcome.served_version} (the same recipe refitted on the whole month)"
        if outcome.served_version
        else ""
    )
    return f"""# Retrain {evaluation.month}: challenger v{outcome.challenger_version} {verdict}

**Decision.** {outcome.decision.reason}

- Holdout: {evaluation.scores.holdout_rows} rows of {evaluation.month} at the natural fraud rate ({alarm.fraud_rate:.1%}); neither model trained on them
- Champion before: v{evaluation.scores.champion_version or "–"} · compared with: v{evaluation.scores.compared_version or "–"} · champion now: v{outcome.champion_version}{served}
- Data check: {alarm.reason}{f" Champion ROC-AUC on this holdout {alarm.champion_roc_auc:.3f}" if alarm.champion_roc_auc is not None else ""}{f" (recent months {alarm.reference_roc_auc:.3f})" if alarm.reference_roc_auc is not None else ""}
- PR-AUC difference (challenger − champion): {pr_line}
- Training data: `{evaluation.challenger.data_sha256[:16]}…`{" (reused an existing version)" if evaluation.challenger.reused else ""}
- MLflow run `{evaluation.challenger.run_id}` at `{redact_uri(tracking_uri)}`

| metric | champion | challenger | difference |
|---|---|---|---|
{table}

{live_section(live)}"""


def record_report(registry: ModelBook, evaluation: Evaluation, markdown: str) -> None:
    """The report beside the challenger's run, as ``report.md``."""
    registry.log_to_run(evaluation.challenger.run_id, text={"report.md": markdown})
