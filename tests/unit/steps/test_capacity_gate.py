"""The gate sees capacity (steps/capacity_gate.py): precision and recall at capacity counted by
hand on a known holdout, the paired precision difference's sign and interval on constructed
models, and the figures carried to the run, the version's tags and ``/model``."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from fraud_detection.config import Settings
from fraud_detection.core.alarm import Alarm
from fraud_detection.core.features import feature_matrix
from fraud_detection.core.gate import Decision
from fraud_detection.serving.model import LoadedModel
from fraud_detection.steps import capacity_gate, judging, record, report, transition
from fraud_detection.steps.capacity import Traffic
from fraud_detection.steps.challengers import Challenger
from tests.support.fakes import InMemoryLake
from tests.support.month_steps import bootstrapped, judged

SETTINGS = Settings(bootstrap_samples=300, review_capacity=0.1)


def test_precision_and_recall_at_capacity_on_a_known_holdout() -> None:
    # Given ten holdout rows, three frauds, ranked by the model as below, and a capacity of 30 %
    y = np.array([1, 1, 0, 1, 0, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1])
    # When cut at 0.7 (the three highest flagged): two frauds and one honest applicant
    figures = capacity_gate.figures_at_capacity(y, p, 0.7, 0.3)
    # Then precision 2/3, recall 2/3, and the holdout's share flagged is the capacity's
    assert figures == {
        "precision_at_capacity": pytest.approx(2 / 3),
        "recall_at_capacity": pytest.approx(2 / 3),
        "capacity_share": 0.3,
        "flagged_at_capacity": pytest.approx(0.3),
    }
    # and at 0.6 (four flagged): all three frauds, precision 3/4
    assert capacity_gate.figures_at_capacity(y, p, 0.6, 0.3)["precision_at_capacity"] == 0.75


def _evaluation(y: np.ndarray, old: np.ndarray, new: np.ndarray) -> judging.Evaluation:
    """Constructed models: their scores on the same holdout, each at threshold 0.5."""
    scores = judging.HoldoutScores(
        month="2025-04",
        challenger=Challenger("2025-04", "7", "run-7", 0.5, "sha", False, 0.25),
        champion_version="5",
        compared_version="5",
        challenger_metrics={"precision": 0.0, "threshold": 0.5},
        champion_metrics={"precision": 0.0, "threshold": 0.5},
        y=y,
        challenger_probability=new,
        champion_probability=old,
        champion_threshold=0.5,
    )
    alarm = Alarm(False, "ok", None, None, 0.1, None)
    return judging.Evaluation(scores, None, Decision.of_gate(True, "rule"), alarm, None)


def _models(rows: int = 2_000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """10 % frauds; a champion that ranks at random, a challenger that ranks most frauds first."""
    rng = np.random.default_rng(3)
    y = (rng.random(rows) < 0.1).astype(int)
    random_ranking = rng.random(rows)
    good_ranking = np.clip(0.6 * y + 0.5 * rng.random(rows), 0, 1)
    return y, random_ranking, good_ranking


def _traffic(rows: int = 500) -> Traffic:
    return Traffic(np.zeros((rows, 1)), 30.0, True)


def test_the_paired_precision_difference_has_the_better_models_sign_and_interval() -> None:
    y, weak, strong = _models()
    better = capacity_gate.at_capacity(SETTINGS, _evaluation(y, weak, strong), _traffic())
    worse = capacity_gate.at_capacity(SETTINGS, _evaluation(y, strong, weak), _traffic())

    up, down = better.precision_at_capacity, worse.precision_at_capacity
    assert up is not None and down is not None and up.metric == "precision"
    # each model flagging 10 % of the rows: the observed difference is the hand count's
    top = len(y) // 10
    by_hand = y[np.argsort(-strong)[:top]].mean() - y[np.argsort(-weak)[:top]].mean()
    assert up.difference == pytest.approx(by_hand) and by_hand > 0.5
    assert 0 < up.low < up.difference < up.high
    assert down.difference == pytest.approx(-by_hand) and down.low < down.high < 0
    # and the verdict is the rule's, untouched
    assert better.decision == _evaluation(y, weak, strong).decision
    line = capacity_gate.capacity_line(better)
    assert line.startswith("\n- Precision at capacity (challenger − champion, each flagging 10.0%")
    assert f"{up.difference:+.4f}" in line and "the rule above decides" in line


def test_the_same_models_differ_by_nothing_and_no_capacity_changes_nothing() -> None:
    y, weak, _ = _models(500)
    same = capacity_gate.at_capacity(SETTINGS, _evaluation(y, weak, weak), _traffic())
    assert same.precision_at_capacity is not None
    assert same.precision_at_capacity.difference == 0 == same.precision_at_capacity.low
    unset = _evaluation(y, weak, weak)
    assert capacity_gate.at_capacity(Settings(), unset, _traffic()) is unset
    assert capacity_gate.capacity_line(unset) == ""


def test_the_figures_reach_the_run_the_report_the_versions_tags_and_model(
    lake: InMemoryLake,
) -> None:
    # Given a judged month and a capacity of 10 % of the traffic (here: the holdout)
    registry = bootstrapped(lake)
    data, inputs, evaluation = judged(lake, registry, "2025-01")
    traffic = Traffic(feature_matrix(inputs.holdout), 30.0, False)
    evaluation = capacity_gate.at_capacity(SETTINGS, evaluation, traffic)

    # When the judgement is recorded and the verdict applied
    record.record_evaluation(registry, evaluation)
    promoted = replace(evaluation, decision=Decision.of_gate(True, "rule"))
    transition.apply_verdict(registry, promoted, data)

    # Then the challenger's run logs the figures and the paired difference
    metrics = evaluation.scores.challenger_metrics
    run = registry.runs[evaluation.challenger.run_id]
    assert run.metrics["holdout_precision_at_capacity"] == metrics["precision_at_capacity"]
    assert run.metrics["holdout_capacity_share"] == 0.1
    assert "capacity_precision_diff_difference" in run.metrics
    assert "capacity_precision_diff_low" in run.metrics
    # and the report's table has them beside the champion's
    rows = {r["metric"]: r for r in report.report_rows(evaluation)}
    assert rows["precision_at_capacity"]["champion"] is not None
    assert rows["recall_at_capacity"]["challenger"] == round(metrics["recall_at_capacity"], 4)
    # and the served version's tags carry them to /model
    version = registry.version(evaluation.challenger.version)
    assert version.tags.holdout["precision_at_capacity"] == pytest.approx(
        metrics["precision_at_capacity"], abs=1e-4
    )
    served = LoadedModel(None, version.version, 0.5, "mlflow", tags=version.tags)  # type: ignore[arg-type]
    described = served.describe()["metrics"]
    assert described["holdout_recall_at_capacity"] == f"{metrics['recall_at_capacity']:.4f}"
    assert described["holdout_capacity_share"] == "0.1000"
