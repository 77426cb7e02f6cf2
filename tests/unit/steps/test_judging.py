"""Both models scored on the same holdout and judged: the gate, the alarm, one class."""

from __future__ import annotations

import numpy as np

from fraud_detection.core.lineage import PartitionRef
from fraud_detection.core.tags import Verdict
from fraud_detection.steps import (
    challengers,
    intake,
    judging,
    months,
    record,
    transition,
)
from tests.support.fakes import InMemoryLake
from tests.support.month_steps import SETTINGS, bootstrapped, gathered, judged


def test_both_models_are_scored_on_the_same_holdout_and_the_gate_decides(
    lake: InMemoryLake,
) -> None:
    registry = bootstrapped(lake)
    _, inputs, evaluation = judged(lake, registry, "2025-01")
    scores = evaluation.scores
    assert scores.compared_version == scores.champion_version == "1"
    assert scores.holdout_rows == len(inputs.holdout) == 600
    assert scores.champion_metrics is not None and scores.champion_metrics["rows"] == 600
    assert evaluation.test is not None and evaluation.test.rows == 600
    assert f"{evaluation.test.upper:+.5f}" in evaluation.decision.reason
    assert evaluation.decision.verdict in (Verdict.PROMOTED, Verdict.REJECTED)
    assert not evaluation.alarm.raised


def test_shuffled_labels_raise_the_alarm_and_quarantine_the_month(lake: InMemoryLake) -> None:
    registry = bootstrapped(lake)
    data, _, evaluation = judged(lake, registry, "2025-01")
    transition.apply_verdict(registry, evaluation, data)
    rng = np.random.default_rng(0)
    good = lake.fetch("2025-02")[0]
    shuffled = InMemoryLake({name: list(files) for name, files in lake.partitions.items()})
    frame = intake.validate(intake.MonthData(PartitionRef("2025-02", "x.parquet", ""), good))
    shuffled.write("2025-02", frame.assign(TARGET=rng.permutation(frame["TARGET"].to_numpy())))
    _, _, alarmed = judged(shuffled, registry, "2025-02")
    assert alarmed.alarm.raised and alarmed.decision.verdict is Verdict.QUARANTINED
    assert "Data alarm" in alarmed.decision.reason


def test_a_single_class_holdout_is_decided_with_its_reason_and_never_picked_again(
    lake: InMemoryLake,
) -> None:
    registry = bootstrapped(lake)
    data, inputs = gathered(lake, registry, "2025-01")
    challenger = challengers.train_challenger(registry, SETTINGS, inputs)
    negatives = inputs.holdout[inputs.holdout["TARGET"] == 0]
    scores = judging.evaluate(registry, SETTINGS, challenger, negatives)
    evaluation = judging.compare_with_champion(registry, SETTINGS, scores)
    assert evaluation.decision.verdict is Verdict.REJECTED
    assert "single class" in evaluation.decision.reason
    record.record_evaluation(registry, evaluation)
    transition.apply_verdict(registry, evaluation, data)
    assert months.already_decided(registry, "2025-01") is not None
    assert months.next_month(lake, registry) == "2025-02"
