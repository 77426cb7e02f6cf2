"""The judgement recorded on the challenger's run, and the month's report built from it."""

from __future__ import annotations

from fraud_detection.core.explain import IMPORTANCE_ROWS
from fraud_detection.core.features import FEATURES
from fraud_detection.steps import (
    record,
    report,
    transition,
)
from tests.support.fakes import InMemoryLake
from tests.support.month_steps import bootstrapped, judged


def test_the_judgement_is_recorded_on_the_challengers_run_and_reported(
    lake: InMemoryLake,
) -> None:
    registry = bootstrapped(lake)
    data, _, evaluation = judged(lake, registry, "2025-01")
    record.record_evaluation(registry, evaluation)
    run = registry.runs[evaluation.challenger.run_id]
    assert run.metrics["holdout_pr_auc"] == evaluation.scores.challenger_metrics["pr_auc"]
    assert "gate_upper" in run.metrics and run.tags["data_alarm"] == "none"
    assert {"plots/holdout_pr.png", "plots/holdout_confusion.png"} <= set(run.artifacts)
    outcome = transition.apply_verdict(registry, evaluation, data)
    markdown = report.report_markdown(evaluation, outcome, tracking_uri="sqlite:///x.db")
    assert markdown.startswith(f"# Retrain 2025-01: challenger v{evaluation.challenger.version}")
    assert evaluation.decision.reason in markdown
    assert report.report_rows(evaluation)[0]["metric"] == "pr_auc"
    # both models' global importance on the holdout, in the report's own section
    importance = evaluation.scores.importance
    assert importance is not None and importance.champion is not None
    assert len(importance.challenger) == len(importance.champion) == len(FEATURES)
    assert importance.rows == min(evaluation.scores.holdout_rows, IMPORTANCE_ROWS)
    assert report.importance_section(importance) in markdown
    report.record_report(registry, evaluation, markdown)
    assert run.artifacts["report.md"] == markdown
