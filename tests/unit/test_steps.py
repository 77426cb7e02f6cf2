"""Every step of the monthly run and of bootstrapping, on the in-memory lake and registry of
tests/support/fakes.py: the steps' logic without MLflow, Prefect or a file system."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fraud_detection.adapters.registry import StaleChampionError
from fraud_detection.config import Settings
from fraud_detection.core.alarm import Alarm
from fraud_detection.core.explain import IMPORTANCE_ROWS
from fraud_detection.core.features import FEATURES
from fraud_detection.core.gate import Decision
from fraud_detection.core.lineage import PartitionRef, lineage_hash
from fraud_detection.core.tags import Role, Verdict, VersionTags
from fraud_detection.sources.synthetic import generate_lake_partitions
from fraud_detection.steps import (
    challengers,
    first_champion,
    intake,
    judging,
    months,
    pool,
    record,
    report,
    status,
    transition,
)
from fraud_detection.steps.external_model import register_model_file
from tests.support.fakes import InMemoryLake, InMemoryRegistry, StoredVersion

SETTINGS = Settings(bootstrap_samples=50)


@pytest.fixture(scope="module")
def lake() -> InMemoryLake:
    """Base history and three months (small: each training takes about a second)."""
    found = InMemoryLake()
    for part in generate_lake_partitions(
        months=3, rows_per_month=1_200, base_rows=3_000, seed=SETTINGS.seed
    ):
        found.write(part.name, part.frame)
    return found


def _bootstrapped(lake: InMemoryLake) -> InMemoryRegistry:
    registry = InMemoryRegistry()
    base = intake.fetch(lake, intake.BASE)
    first_champion.bootstrap_champion(registry, SETTINGS, base, intake.validate(base))
    return registry


def _inputs(
    lake: InMemoryLake, registry: InMemoryRegistry, month: str
) -> tuple[intake.MonthData, pool.TrainingInputs]:
    data = intake.fetch(lake, month)
    split = intake.split(SETTINGS, month, intake.validate(data))
    return data, pool.gather(lake, registry, data, split)


def _judged(
    lake: InMemoryLake, registry: InMemoryRegistry, month: str
) -> tuple[intake.MonthData, pool.TrainingInputs, judging.Evaluation]:
    data, inputs = _inputs(lake, registry, month)
    challenger = challengers.train_challenger(registry, SETTINGS, inputs)
    scores = judging.evaluate(registry, SETTINGS, challenger, inputs.holdout)
    return data, inputs, judging.compare_with_champion(registry, SETTINGS, scores)


def _decided(
    version: str, month: str, decision: str, role: Role = Role.CHALLENGER
) -> StoredVersion:
    return StoredVersion(
        version, None, VersionTags(month=month, role=role, decision=Verdict(decision))
    )


# -- first champion ------------------------------------------------------------------------------
def test_bootstrap_trains_the_first_champion_once_with_its_holdout_metrics(
    lake: InMemoryLake,
) -> None:
    registry = _bootstrapped(lake)
    champion = registry.champion()
    assert champion is not None and champion.tags.role is Role.BOOTSTRAP
    assert champion.tags.decision is Verdict.PROMOTED and champion.tags.month == "base"
    assert 0.5 < champion.tags.holdout["roc_auc"] < 1
    base = intake.fetch(lake, intake.BASE)
    again = first_champion.bootstrap_champion(registry, SETTINGS, base, intake.validate(base))
    assert not again.created and again.version == champion.version
    assert len(registry.versions()) == 1


# -- order of months -----------------------------------------------------------------------------
def test_the_next_month_skips_decided_and_quarantined_months_until_corrected() -> None:
    lake = InMemoryLake({"2025-01": [b"a"], "2025-02": [b"b"], "2025-03": [b"c"]})
    registry = InMemoryRegistry(stored=[_decided("1", "2025-01", "promoted")])
    assert months.next_month(lake, registry) == "2025-02"

    intake.quarantine(registry, intake.fetch(lake, "2025-02"), "labels look shuffled")
    assert months.next_month(lake, registry) == "2025-03"

    lake.partitions["2025-02"][-1] = b"replaced in place"  # same path, other bytes
    assert months.next_month(lake, registry) == "2025-02"
    lake.partitions["2025-02"] = [b"b", b"corrected"]  # a corrected delivery beside the old one
    assert months.next_month(lake, registry) == "2025-02"

    registry.stored += [
        _decided("2", "2025-02", "rejected"),
        _decided("3", "2025-03", "quarantined"),
    ]
    assert months.next_month(lake, registry) == "2025-03"  # quarantined is no decision


def test_a_month_is_decided_by_its_challenger_not_by_its_refit() -> None:
    registry = InMemoryRegistry(stored=[_decided("4", "2025-05", "promoted", role=Role.REFIT)])
    assert months.already_decided(registry, "2025-05") is None
    registry.stored.append(_decided("3", "2025-05", "rejected"))
    assert months.already_decided(registry, "2025-05") == {"version": "3", "decision": "rejected"}
    assert months.already_decided(registry, "2025-06") is None


# -- intake --------------------------------------------------------------------------------------
def test_intake_names_the_file_and_column_and_quarantine_keeps_the_bytes(
    lake: InMemoryLake,
) -> None:
    broken = InMemoryLake()
    frame = next(generate_lake_partitions(months=0, base_rows=500, seed=1)).frame
    broken.write("2025-07", frame.drop(columns=["AMT_CREDIT"]))
    data = intake.fetch(broken, "2025-07")
    with pytest.raises(
        intake.MonthError, match=r"mem://2025-07/applications-1.parquet: .*AMT_CREDIT"
    ):
        intake.validate(data)
    registry = InMemoryRegistry()
    held = intake.quarantine(registry, data, "missing column")
    assert registry.quarantined()["2025-07"] == held and held.sha256 == data.ref.sha256
    assert broken.fetch("2025-07")[0] == data.raw


def test_a_month_with_few_frauds_is_refused_before_a_threshold_is_cut_on_it(
    lake: InMemoryLake,
) -> None:
    month = intake.validate(intake.fetch(lake, "2025-01"))
    few = InMemoryLake()
    few.write("2025-01", pd.concat([month[month["TARGET"] == 0], month[month["TARGET"] == 1][:8]]))
    data = intake.fetch(few, "2025-01")
    clean = intake.validate(data)  # a valid month with 8 frauds: the contract accepts it
    with pytest.raises(intake.MonthError, match=r"applications-1.parquet: .*validation slice"):
        intake.check_judgeable(SETTINGS, data, clean)
    intake.check_judgeable(SETTINGS, intake.fetch(lake, "2025-01"), month)  # a usual month passes
    registry = InMemoryRegistry()
    intake.quarantine(registry, data, "too few frauds")
    assert months.next_month(few, registry) is None


# -- pool ----------------------------------------------------------------------------------------
def test_the_pool_holds_base_earlier_decided_months_and_the_month_once_each(
    lake: InMemoryLake,
) -> None:
    registry = InMemoryRegistry(stored=[_decided("2", "2025-01", "promoted")])
    data, inputs = _inputs(lake, registry, "2025-03")  # 2025-02 is not decided: left out
    assert [p.name for p in inputs.parts] == ["base", "2025-01", "2025-03"]
    assert [p.age for p in inputs.parts] == [3.0, 2.0, 0.0]
    assert inputs.lineage == [lake.fetch("base")[1], lake.fetch("2025-01")[1], data.ref]
    assert inputs.data_sha256 == lineage_hash(inputs.lineage)
    assert not set(inputs.parts[-1].frame["SK_ID_CURR"]) & set(inputs.holdout["SK_ID_CURR"])


# -- challengers ---------------------------------------------------------------------------------
def test_a_challenger_is_registered_once_per_month_and_data(lake: InMemoryLake) -> None:
    registry = _bootstrapped(lake)
    _, inputs = _inputs(lake, registry, "2025-01")
    first = challengers.train_challenger(registry, SETTINGS, inputs)
    again = challengers.train_challenger(registry, SETTINGS, inputs)
    assert not first.reused and again.reused and again.version == first.version
    tags = registry.version(first.version).tags
    assert (tags.month, tags.role, tags.data_sha256) == (
        "2025-01",
        Role.CHALLENGER,
        inputs.data_sha256,
    )
    assert tags.threshold == first.threshold and tags.run_id == first.run_id
    run = registry.runs[first.run_id]
    assert run.artifacts["lineage"] == inputs.lineage
    assert "plots/feature_importance.png" in run.artifacts


def test_the_refit_keeps_the_threshold_and_trains_on_the_whole_month(lake: InMemoryLake) -> None:
    registry = _bootstrapped(lake)
    _, inputs = _inputs(lake, registry, "2025-01")
    challenger = challengers.train_challenger(registry, SETTINGS, inputs)
    version = challengers.refit(registry, SETTINGS, inputs, challenger)
    assert challengers.refit(registry, SETTINGS, inputs, challenger) == version  # reused
    tags = registry.version(version).tags
    assert tags.role is Role.REFIT and tags.refit_of == challenger.version
    assert tags.threshold == challenger.threshold
    judged = registry.version(challenger.version).tags
    assert tags.training_rows == judged.training_rows + len(inputs.holdout)


# -- judging -------------------------------------------------------------------------------------
def test_both_models_are_scored_on_the_same_holdout_and_the_gate_decides(
    lake: InMemoryLake,
) -> None:
    registry = _bootstrapped(lake)
    _, inputs, evaluation = _judged(lake, registry, "2025-01")
    scores = evaluation.scores
    assert scores.compared_version == scores.champion_version == "1"
    assert scores.holdout_rows == len(inputs.holdout) == 600
    assert scores.champion_metrics is not None and scores.champion_metrics["rows"] == 600
    assert evaluation.test is not None and evaluation.test.rows == 600
    assert f"{evaluation.test.upper:+.5f}" in evaluation.decision.reason
    assert evaluation.decision.verdict in (Verdict.PROMOTED, Verdict.REJECTED)
    assert not evaluation.alarm.raised


def test_shuffled_labels_raise_the_alarm_and_quarantine_the_month(lake: InMemoryLake) -> None:
    registry = _bootstrapped(lake)
    data, _, evaluation = _judged(lake, registry, "2025-01")
    transition.transition(registry, evaluation, data)
    rng = np.random.default_rng(0)
    good = lake.fetch("2025-02")[0]
    shuffled = InMemoryLake({name: list(files) for name, files in lake.partitions.items()})
    frame = intake.validate(intake.MonthData(PartitionRef("2025-02", "x.parquet", ""), good))
    shuffled.write("2025-02", frame.assign(TARGET=rng.permutation(frame["TARGET"].to_numpy())))
    _, _, alarmed = _judged(shuffled, registry, "2025-02")
    assert alarmed.alarm.raised and alarmed.decision.verdict is Verdict.QUARANTINED
    assert "Data alarm" in alarmed.decision.reason


def test_a_single_class_holdout_is_decided_with_its_reason_and_never_picked_again(
    lake: InMemoryLake,
) -> None:
    registry = _bootstrapped(lake)
    data, inputs = _inputs(lake, registry, "2025-01")
    challenger = challengers.train_challenger(registry, SETTINGS, inputs)
    negatives = inputs.holdout[inputs.holdout["TARGET"] == 0]
    scores = judging.evaluate(registry, SETTINGS, challenger, negatives)
    evaluation = judging.compare_with_champion(registry, SETTINGS, scores)
    assert evaluation.decision.verdict is Verdict.REJECTED
    assert "single class" in evaluation.decision.reason
    record.record(registry, evaluation)
    transition.transition(registry, evaluation, data)
    assert months.already_decided(registry, "2025-01") is not None
    assert months.next_month(lake, registry) == "2025-02"


# -- transition ----------------------------------------------------------------------------------
def _evaluation(decision: Decision, *, alarm: bool = False) -> judging.Evaluation:
    challenger = challengers.Challenger("2025-04", "7", "run-7", 0.3, "sha", False, 0.25)
    scores = judging.HoldoutScores(
        month="2025-04",
        challenger=challenger,
        champion_version="5",
        compared_version="5",
        challenger_metrics={"pr_auc": 0.31, "f1": 0.35},
        champion_metrics={"pr_auc": 0.29, "f1": 0.33},
        y=np.zeros(4000),
        challenger_probability=np.zeros(4000),
        champion_probability=np.zeros(4000),
    )
    reason = "labels look shuffled" if alarm else "ok"
    return judging.Evaluation(
        scores, None, decision, Alarm(alarm, reason, 0.74, 0.75, 0.08, 0.08), None
    )


def _book() -> InMemoryRegistry:
    versions = [StoredVersion(n, None, VersionTags(month="2025-04")) for n in "12345678"]
    return InMemoryRegistry(stored=versions, aliases={"champion": "5"})


def _month() -> intake.MonthData:
    return intake.MonthData(PartitionRef("2025-04", "2025-04/applications-1", "abc"), b"")


def test_a_promotion_serves_the_refit_and_the_decision_tag_comes_last() -> None:
    book = _book()
    outcome = transition.transition(
        book, _evaluation(Decision.of_gate(True, "better")), _month(), "8"
    )
    assert book.aliases["champion"] == "8" and outcome.served_version == "8"
    assert outcome.champion_version == "8" and outcome.challenger_version == "7"
    moves = [entry for entry in book.journal if entry[0] in ("challenger", "champion")]
    assert moves == [("challenger", "7"), ("champion", "8")]
    assert ("tag", "8", "decision") in book.journal
    assert book.journal[-1] == ("tag", "7", "decision")  # marks the month finished, last
    tags = book.version("7").tags
    assert tags.decision is Verdict.PROMOTED and tags.served_as == "8"
    assert tags.holdout == {"pr_auc": 0.31, "f1": 0.35, "fraud_rate": 0.08}


def test_a_rejection_keeps_the_champion_and_an_alarm_quarantines_the_month() -> None:
    book = _book()
    rejected = transition.transition(book, _evaluation(Decision.of_gate(False, "worse")), _month())
    assert book.aliases["champion"] == "5" and rejected.served_version is None
    assert not book.held and book.version("7").tags.decision is Verdict.REJECTED

    alarmed = _evaluation(Decision(Verdict.QUARANTINED, "alarm"), alarm=True)
    book = _book()
    quarantined = transition.transition(book, alarmed, _month())
    assert quarantined.decision.verdict is Verdict.QUARANTINED and book.aliases["champion"] == "5"
    assert book.held["2025-04"].reason == "labels look shuffled"
    assert book.held["2025-04"].run_id == "run-7"


def test_a_champion_that_moved_since_the_evaluation_blocks_the_promotion() -> None:
    book = _book()
    book.aliases["champion"] = "6"  # an operator promoted another version meanwhile
    with pytest.raises(StaleChampionError):
        transition.transition(book, _evaluation(Decision.of_gate(True, "better")), _month())
    assert book.aliases["champion"] == "6" and book.version("7").tags.decision is None


# -- record and report ---------------------------------------------------------------------------
def test_the_judgement_is_recorded_on_the_challengers_run_and_reported(
    lake: InMemoryLake,
) -> None:
    registry = _bootstrapped(lake)
    data, _, evaluation = _judged(lake, registry, "2025-01")
    record.record(registry, evaluation)
    run = registry.runs[evaluation.challenger.run_id]
    assert run.metrics["holdout_pr_auc"] == evaluation.scores.challenger_metrics["pr_auc"]
    assert "gate_upper" in run.metrics and run.tags["data_alarm"] == "none"
    assert {"plots/holdout_pr.png", "plots/holdout_confusion.png"} <= set(run.artifacts)
    outcome = transition.transition(registry, evaluation, data)
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


# -- status and model files ----------------------------------------------------------------------
def test_status_shows_aliases_versions_and_quarantines_of_any_registry(lake: InMemoryLake) -> None:
    registry = _bootstrapped(lake)
    intake.quarantine(registry, intake.fetch(lake, "2025-02"), "bad labels")
    snapshot = status.from_registry(registry, SETTINGS)
    assert (snapshot.champion, snapshot.challenger) == ("1", None)
    assert snapshot.versions[0][0] == "1" and snapshot.versions[0][1]["decision"] == "promoted"
    assert snapshot.quarantined["2025-02"].reason == "bad labels"


def test_a_model_file_is_registered_with_its_threshold_and_alias(
    lake: InMemoryLake, tmp_path: Path
) -> None:
    registry = _bootstrapped(lake)
    path = tmp_path / "model.ubj"
    registry.load_booster("1").save_model(str(path))
    version = register_model_file(
        registry, path, threshold=0.3, alias="candidate", champion_alias="champion"
    )
    tags = registry.version(version).tags
    assert (tags.month, tags.role, tags.threshold, tags.source_file) == (
        "external",
        Role.EXTERNAL,
        0.3,
        "model.ubj",
    )
    assert registry.aliases["candidate"] == version and registry.aliases["champion"] == "1"
