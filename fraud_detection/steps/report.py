"""The month's report in Markdown: the decision in one sentence, then the metrics side by side."""

from __future__ import annotations

from typing import Any

from fraud_detection.core.explain import FeatureShift, ImportanceShift
from fraud_detection.core.model_inputs import inputs_in_words
from fraud_detection.core.outcomes import LivePerformance
from fraud_detection.core.redact import redact_uri
from fraud_detection.steps.capacity_gate import AT_CAPACITY, capacity_line
from fraud_detection.steps.judging import Evaluation, HoldoutScores
from fraud_detection.steps.pool import PoolUse
from fraud_detection.steps.ports import ModelWriter
from fraud_detection.steps.transition import TransitionResult


def report_rows(evaluation: Evaluation) -> list[dict[str, Any]]:
    """Champion and challenger metrics side by side (one row per metric)."""
    rows = []
    names = ("pr_auc", "roc_auc", "brier", "f1", "precision", "recall", "threshold")
    at_capacity = tuple(m for m in AT_CAPACITY if m in evaluation.scores.challenger_metrics)
    for metric in names + at_capacity:
        new = evaluation.scores.challenger_metrics[metric]
        old = (
            evaluation.scores.champion_metrics.get(metric)
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


IMPORTANCE_TABLE_ROWS = 10


def _named(shift: FeatureShift) -> str:
    return f"**{shift.label}** (`{shift.feature}`)"


def _importance_words(importance: ImportanceShift) -> str:
    """The changes that matter in sentences, before any number table."""
    if importance.champion is None:
        top = sorted(importance.ranked(), key=lambda s: -s.challenger)[:3]
        return (
            "No champion to compare with. The challenger relies most on "
            + ", ".join(f"{_named(s)} ({s.challenger:.3f})" for s in top)
            + "."
        )
    notable = importance.notable()
    if not notable:
        return (
            "The challenger relies on the same features as the champion did: no feature's "
            "importance changed by a quarter or more of its own and 2 % of the total."
        )
    return "\n".join(
        f"- The challenger relies {s.degree} on {_named(s)} than the champion did: "
        f"{s.challenger:.3f} against {s.champion:.3f}."
        for s in notable
    )


def importance_section(importance: ImportanceShift | None) -> str:
    """What each model relies on: global importance on the holdout, the largest changes first."""
    head = "## What the challenger learnt\n\n"
    if importance is None:
        return f"{head}No feature importance was computed for this month.\n"
    rows = "\n".join(
        f"| {s.label} | `{s.feature}` | "
        f"{'–' if importance.champion is None else f'{s.champion:.3f}'} | {s.challenger:.3f} | "
        f"{'–' if importance.champion is None else f'{s.change:+.3f}'} |"
        for s in importance.ranked()[:IMPORTANCE_TABLE_ROWS]
    )
    return (
        f"{head}{_importance_words(importance)}\n\n"
        "A feature's importance is how far it moves a score on average: the mean absolute "
        f"contribution (log-odds, XGBoost's TreeSHAP) over {importance.rows:,} holdout rows, "
        "both models on the same rows. The largest changes:\n\n"
        "| feature | name | champion | challenger | change |\n"
        "|---|---|---|---|---|\n"
        f"{rows}\n"
    )


def pool_section(use: PoolUse) -> str:
    """The partitions the challenger was trained on and those the history floor left out."""
    head = "## Training pool\n\n"
    used = ", ".join(f"`{name}`" for name in use.used)
    if not use.left_out:
        floor = f" (none below the history floor {use.floor:g})" if use.floor else ""
        return f"{head}Trained on {len(use.used)} partitions{floor}: {used}.\n"
    left = ", ".join(f"`{name}`" for name in use.left_out)
    return (
        f"{head}Trained on {len(use.used)} partitions: {used}. Left out, their history weight "
        f"below the floor {use.floor:g} (FRAUD_HISTORY_FLOOR), and not in the lineage: "
        f"{left}.\n"
    )


def inputs_line(scores: HoldoutScores) -> str:
    """Which features each model takes, and those it leaves out on purpose."""
    champion = scores.champion_inputs
    old = "" if champion is None else f" · champion: {inputs_in_words(champion)}"
    return f"- Inputs: challenger: {inputs_in_words(scores.challenger_inputs)}{old}"


def report_markdown(
    evaluation: Evaluation,
    outcome: TransitionResult,
    *,
    tracking_uri: str,
    live: LivePerformance | None = None,
    pool: PoolUse | None = None,
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
    pool_text = f"\n{pool_section(pool)}" if pool else ""
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
- PR-AUC difference (challenger − champion): {pr_line}{capacity_line(evaluation)}
{inputs_line(evaluation.scores)}
- Training data: `{evaluation.challenger.data_sha256[:16]}…`{" (reused an existing version)" if evaluation.challenger.reused else ""}
- MLflow run `{evaluation.challenger.run_id}` at `{redact_uri(tracking_uri)}`

| metric | champion | challenger | difference |
|---|---|---|---|
{table}

{importance_section(evaluation.scores.importance)}
{live_section(live)}{pool_text}"""


def record_report(registry: ModelWriter, evaluation: Evaluation, markdown: str) -> None:
    """The report beside the challenger's run, as ``report.md``."""
    registry.log_to_run(evaluation.challenger.run_id, text={"report.md": markdown})
