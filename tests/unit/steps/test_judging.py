"""Both models scored on the same holdout and judged: the gate, the alarm, one class."""

from __future__ import annotations

import numpy as np

from fraud_detection.core.features import FEATURES, feature_matrix
from fraud_detection.core.lineage import PartitionRef
from fraud_detection.core.tags import Verdict
from fraud_detection.steps import (
    challengers,
    intake,
    judging,
    months,
    record,
    report,
    transition,
)
from tests.support.fakes import InMemoryLake
from tests.support.month_steps import SETTINGS, bootstrapped, gathered, judged

GENDER = "CODE_GENDER"


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


def test_a_champion_on_all_inputs_and_a_challenger_without_one_are_judged_on_the_same_rows(
    lake: InMemoryLake,
) -> None:
    registry = bootstrapped(lake)  # the champion: every input, as before the setting existed
    old = registry.load_booster("1")
    old.feature_names = None  # a champion saved without names still takes all 54 by position
    without = SETTINGS.model_copy(update={"excluded_inputs": [GENDER]})
    _, inputs = gathered(lake, registry, "2025-01")
    challenger = challengers.train_challenger(registry, without, inputs)

    scores = judging.evaluate(registry, without, challenger, inputs.holdout)

    new = registry.load_booster(challenger.version)
    full = feature_matrix(inputs.holdout)
    assert GENDER not in (new.feature_names or FEATURES) and new.num_features() == 53
    assert scores.challenger_inputs == tuple(f for f in FEATURES if f != GENDER)
    assert scores.champion_inputs == FEATURES
    np.testing.assert_allclose(
        scores.challenger_probability,
        new.inplace_predict(np.delete(full, FEATURES.index(GENDER), axis=1)),
        rtol=1e-6,
    )
    np.testing.assert_allclose(scores.champion_probability, old.inplace_predict(full), rtol=1e-6)
    assert scores.holdout_rows == len(inputs.holdout) == len(scores.champion_probability)
    evaluation = judging.compare_with_champion(registry, without, scores)
    assert evaluation.test is not None and evaluation.test.rows == len(inputs.holdout)
    assert scores.importance is not None
    assert scores.importance.challenger[FEATURES.index(GENDER)] == 0.0
    line = report.inputs_line(scores)
    assert line == (
        f"- Inputs: challenger: 53 of 54 features, leaving out `{GENDER}` · champion: all 54 features"
    )
    params = registry.runs[challenger.run_id].params
    assert (params["inputs_used"], params["inputs_left_out"]) == ("53", GENDER)
