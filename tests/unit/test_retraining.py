"""The retraining steps called directly (no Prefect), on a tiny lake and a per-test SQLite store."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.registry import Registry, StaleChampionError
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from fraud_detection.core.gate import Decision
from fraud_detection.core.lineage import lineage_hash
from fraud_detection.core.tags import DECIDED
from fraud_detection.sources.synthetic import generate_lake_partitions
from fraud_detection.steps import (
    challengers,
    first_champion,
    intake,
    judging,
    months,
    pool,
    record,
    transition,
)


@pytest.fixture
def lake_settings(settings: Settings) -> Settings:
    lake = Lake.from_settings(settings)
    for part in generate_lake_partitions(
        months=3, rows_per_month=1_200, base_rows=3_000, seed=settings.seed
    ):
        lake.write(part.name, part.frame, part.truth)
    return settings


def _stores(settings: Settings) -> tuple[Lake, Registry]:
    return Lake.from_settings(settings), open_registry(settings)


def _bootstrap(settings: Settings) -> first_champion.FirstChampion:
    lake, registry = _stores(settings)
    base = intake.fetch(lake, intake.BASE)
    return first_champion.bootstrap_champion(registry, settings, base, intake.validate(base))


def _challenger(
    settings: Settings, month: str
) -> tuple[challengers.Challenger, pool.TrainingInputs, intake.MonthData]:
    lake, registry = _stores(settings)
    data = intake.fetch(lake, month)
    month_split = intake.split(settings, month, intake.validate(data))
    inputs = pool.gather(lake, registry, data, month_split)
    return challengers.train_challenger(registry, settings, inputs), inputs, data


def test_bootstrap_is_safe_to_run_twice(lake_settings: Settings) -> None:
    first = _bootstrap(lake_settings)
    second = _bootstrap(lake_settings)
    assert first.created and not second.created and first.version == second.version
    assert len(open_registry(lake_settings).versions()) == 1


def test_training_a_month_twice_registers_one_version(lake_settings: Settings) -> None:
    _bootstrap(lake_settings)
    first, _, _ = _challenger(lake_settings, "2025-01")
    again, _, _ = _challenger(lake_settings, "2025-01")
    assert not first.reused and again.reused and again.version == first.version
    trained_months = [v.tags.month for v in open_registry(lake_settings).versions()]
    assert trained_months.count("2025-01") == 1


def test_the_month_is_split_once_and_the_pool_carries_ages_and_lineage(
    lake_settings: Settings,
) -> None:
    _bootstrap(lake_settings)
    _, inputs, data = _challenger(lake_settings, "2025-01")
    names = [p.name for p in inputs.parts]
    assert names == ["base", "2025-01"] and [p.age for p in inputs.parts] == [1.0, 0.0]
    train_ids = set(inputs.parts[-1].frame["SK_ID_CURR"])
    assert not train_ids & set(inputs.holdout["SK_ID_CURR"])
    assert len(train_ids) + len(inputs.holdout) == 1_200
    assert [r.name for r in inputs.lineage] == ["base", "2025-01"] and inputs.lineage[
        -1
    ] == data.ref


def _logged_lineage(registry: Registry, version: str) -> list[dict[str, str]]:
    """The partitions a version's run says it trained on (its lineage.json artifact)."""
    run_id = registry.version(version).run_id
    logged = registry.client.download_artifacts(run_id, "lineage.json")
    partitions: list[dict[str, str]] = json.loads(Path(logged).read_text())["partitions"]
    return partitions


def test_the_lineage_lists_every_partition_once_with_its_hash_and_is_the_reuse_key(
    lake_settings: Settings,
) -> None:
    # Given two earlier months decided
    _bootstrap(lake_settings)
    for month in ("2025-01", "2025-02"):
        _run(lake_settings, month)
    # When the third month is gathered and trained
    lake, registry = _stores(lake_settings)
    challenger, inputs, data = _challenger(lake_settings, "2025-03")
    # Then its lineage is base, each earlier month and the month itself, once each, with the
    # hash of the bytes in the lake
    expected = [intake.fetch(lake, name).ref for name in ("base", "2025-01", "2025-02")]
    assert inputs.lineage == [*expected, data.ref]
    assert inputs.data_sha256 == lineage_hash(inputs.lineage) == challenger.data_sha256
    logged = _logged_lineage(registry, challenger.version)
    assert [(p["name"], p["path"], p["sha256"]) for p in logged] == [
        (r.name, r.path, r.sha256) for r in inputs.lineage
    ]


def test_a_corrected_delivery_of_a_quarantined_month_is_trained_afresh_and_decided(
    lake_settings: Settings,
) -> None:
    # Given a month quarantined by the data alarm (its labels shuffled on delivery)
    _bootstrap(lake_settings)
    lake, registry = _stores(lake_settings)
    _run(lake_settings, "2025-01")
    good = lake.read("2025-02")
    rng = np.random.default_rng(0)
    lake.write("2025-04", good.assign(TARGET=rng.permutation(good["TARGET"].to_numpy())))
    garbage = _run(lake_settings, "2025-04")
    assert garbage.decision.verdict == "quarantined"
    # When a corrected delivery arrives and the month runs again (nothing else decided since)
    corrected = lake.deliver("2025-04", lake.fetch("2025-02")[0])
    again = _run(lake_settings, "2025-04")
    # Then a new challenger is trained on the corrected bytes and the month is decided on it
    assert again.challenger_version != garbage.challenger_version
    assert again.decision.verdict in DECIDED
    logged = _logged_lineage(registry, again.challenger_version)
    assert logged[-1] == {"name": "2025-04", "path": corrected.path, "sha256": corrected.sha256}
    assert [p["name"] for p in logged] == ["base", "2025-01", "2025-04"]
    assert months.already_decided(registry, "2025-04") == {
        "version": again.challenger_version,
        "decision": again.decision.verdict,
    }


def _run(settings: Settings, month: str) -> transition.TransitionResult:
    registry = open_registry(settings)
    challenger, inputs, data = _challenger(settings, month)
    scores = judging.evaluate(registry, settings, challenger, inputs.holdout)
    evaluation = judging.compare_with_champion(registry, settings, scores)
    served = (
        challengers.refit(registry, settings, inputs, challenger)
        if evaluation.decision.promote
        else None
    )
    record.record_evaluation(registry, evaluation)
    return transition.apply_verdict(registry, evaluation, data, served)


def test_the_next_month_is_the_earliest_undecided_and_decided_is_known_without_data(
    lake_settings: Settings,
) -> None:
    _bootstrap(lake_settings)
    lake, registry = _stores(lake_settings)
    assert months.next_month(lake, registry) == "2025-01"
    assert months.already_decided(registry, "2025-01") is None
    for month in ("2025-01", "2025-02", "2025-03"):
        outcome = _run(lake_settings, month)
        decided = months.already_decided(registry, month)
        assert decided == {
            "version": outcome.challenger_version,
            "decision": outcome.decision.verdict,
        }
    assert months.next_month(lake, registry) is None


def test_a_promotion_serves_the_recipe_refitted_on_the_whole_month(
    lake_settings: Settings,
) -> None:
    _bootstrap(lake_settings)
    outcome = _run(lake_settings, "2025-01")
    registry = open_registry(lake_settings)
    if outcome.decision.promote:
        assert outcome.served_version and outcome.champion_version == outcome.served_version
        served = registry.version(outcome.served_version).tags
        assert served.role == "refit" and served.refit_of == outcome.challenger_version
        judged = registry.version(outcome.challenger_version).tags
        assert (served.training_rows or 0) > (judged.training_rows or 0)
    else:
        assert outcome.served_version is None


def test_both_models_are_scored_on_the_same_holdout(lake_settings: Settings) -> None:
    champion = _bootstrap(lake_settings).version
    challenger, inputs, _ = _challenger(lake_settings, "2025-01")
    registry = open_registry(lake_settings)
    scores = judging.evaluate(registry, lake_settings, challenger, inputs.holdout)
    evaluation = judging.compare_with_champion(registry, lake_settings, scores)
    assert evaluation.scores.compared_version == champion
    assert evaluation.scores.holdout_rows == len(inputs.holdout) == 600
    for metrics in (evaluation.scores.challenger_metrics, evaluation.scores.champion_metrics):
        assert metrics is not None and metrics["rows"] == 600
        assert metrics["positives"] == inputs.holdout["TARGET"].sum()
    assert evaluation.test is not None and evaluation.test.rows == 600
    assert evaluation.test.lower <= evaluation.test.difference <= evaluation.test.upper
    assert f"{evaluation.test.upper:+.5f}" in evaluation.decision.reason


def test_a_stale_champion_blocks_the_transition(lake_settings: Settings) -> None:
    _bootstrap(lake_settings)
    registry = open_registry(lake_settings)
    challenger, inputs, data = _challenger(lake_settings, "2025-01")
    scores = judging.evaluate(registry, lake_settings, challenger, inputs.holdout)
    evaluation = judging.compare_with_champion(registry, lake_settings, scores)
    other, _, _ = _challenger(lake_settings, "2025-02")
    registry.set_champion(other.version)  # an operator moved the champion meanwhile
    forced = dataclasses.replace(evaluation, decision=Decision.of_gate(True, "forced for the test"))
    with pytest.raises(StaleChampionError):
        transition.apply_verdict(registry, forced, data)
    assert registry.champion().version == other.version
    assert registry.version(challenger.version).tags.decision is None  # the month stays undecided


def test_a_shuffled_month_raises_the_alarm_and_is_quarantined_then_skipped(
    lake_settings: Settings,
) -> None:
    _bootstrap(lake_settings)
    lake, registry = _stores(lake_settings)
    _run(lake_settings, "2025-01")
    # Given a month that passes the contract but whose labels are shuffled
    good = lake.read("2025-02")
    rng = np.random.default_rng(0)
    lake.write("2025-04", good.assign(TARGET=rng.permutation(good["TARGET"].to_numpy())))
    champion_before = registry.champion()
    outcome = _run(lake_settings, "2025-04")
    # Then it is quarantined, not promoted, and the schedule moves on past it
    assert outcome.decision.verdict == "quarantined" and not outcome.decision.promote
    assert "Data alarm" in outcome.decision.reason
    assert registry.champion() == champion_before
    assert registry.quarantined()["2025-04"].path == lake.latest("2025-04")
    assert months.next_month(lake, registry) == "2025-02"
    assert "2025-04" not in registry.decided_months()
    # and a corrected delivery of the month is picked up again (old bytes kept)
    ref = lake.deliver("2025-04", (Path(lake.latest("2025-02")).read_bytes()))
    assert ref.path.endswith("applications-2.parquet") and len(lake.deliveries("2025-04")) == 2
    for month in ("2025-02", "2025-03"):
        _run(lake_settings, month)
    assert months.next_month(lake, registry) == "2025-04"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda f: f.drop(columns=["AMT_CREDIT"]), "column 'AMT_CREDIT': missing column"),
        (
            lambda f: f.assign(AMT_INCOME_TOTAL=0),
            "column 'AMT_INCOME_TOTAL': must be greater than 0",
        ),
        (lambda f: f.assign(TARGET=1), "column 'TARGET': a single class"),
    ],
)
def test_a_malformed_month_names_file_and_column(
    lake_settings: Settings, change: object, words: str
) -> None:
    lake = Lake.from_settings(lake_settings)
    bad = change(lake.read("2025-01"))  # type: ignore[operator]
    ref = lake.write("2026-01", bad)
    with pytest.raises(intake.MonthError) as error:
        intake.validate(intake.fetch(lake, "2026-01"))
    assert str(error.value).startswith(ref.path) and words in str(error.value)


@pytest.mark.parametrize(("data", "words"), [(b"", "empty file"), (b"garbage bytes", "unreadable")])
def test_corrupt_or_empty_partitions_fail_validation(
    lake_settings: Settings, data: bytes, words: str
) -> None:
    path = Path(lake_settings.lake) / "incoming" / "month=2026-02" / "applications.parquet"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    fetched = intake.fetch(Lake.from_settings(lake_settings), "2026-02")  # bytes fetched
    with pytest.raises(intake.MonthError, match=words) as error:
        intake.validate(fetched)
    assert str(path) in str(error.value)
