"""The retraining steps called directly (no Prefect), on a tiny lake and a per-test SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest

from fraud_detection import retraining
from fraud_detection.config import Settings
from fraud_detection.lake import Lake
from fraud_detection.registry import Registry, StaleChampionError
from fraud_detection.synthetic import generate_lake_partitions


@pytest.fixture
def lake_settings(settings: Settings) -> Settings:
    lake = Lake.from_settings(settings)
    for part in generate_lake_partitions(
        months=3, rows_per_month=1_200, base_rows=3_000, seed=settings.seed
    ):
        lake.write(part.name, part.frame, part.truth)
    return settings


def _bootstrap(settings: Settings) -> retraining.Bootstrap:
    base = retraining.fetch(settings, retraining.BASE)
    return retraining.bootstrap_champion(settings, base, retraining.validate(settings, base))


def _challenger(settings: Settings, month: str) -> tuple[retraining.Challenger, object]:
    data = retraining.fetch(settings, month)
    clean = retraining.validate(settings, data)
    return retraining.train_challenger(settings, data, clean), clean


def test_bootstrap_is_safe_to_run_twice(lake_settings: Settings) -> None:
    first = _bootstrap(lake_settings)
    second = _bootstrap(lake_settings)
    assert first.created and not second.created and first.version == second.version
    assert len(Registry(lake_settings).versions()) == 1


def test_training_a_month_twice_registers_one_version(lake_settings: Settings) -> None:
    _bootstrap(lake_settings)
    first, _ = _challenger(lake_settings, "2025-01")
    again, _ = _challenger(lake_settings, "2025-01")
    assert not first.reused and again.reused and again.version == first.version
    months = [v.tags["month"] for v in Registry(lake_settings).versions()]
    assert months.count("2025-01") == 1


def test_the_next_month_is_the_earliest_undecided(lake_settings: Settings) -> None:
    _bootstrap(lake_settings)
    assert retraining.next_month(lake_settings) == "2025-01"
    for month in ("2025-01", "2025-02", "2025-03"):
        challenger, clean = _challenger(lake_settings, month)
        evaluation = retraining.evaluate(
            lake_settings, challenger, retraining.holdout_of(lake_settings, month, clean)
        )
        retraining.transition(
            lake_settings, evaluation, retraining.compare(lake_settings, evaluation)
        )
    assert retraining.next_month(lake_settings) is None


def test_both_models_are_scored_on_the_same_holdout(lake_settings: Settings) -> None:
    champion = _bootstrap(lake_settings).version
    challenger, clean = _challenger(lake_settings, "2025-01")
    holdout = retraining.holdout_of(lake_settings, "2025-01", clean)
    evaluation = retraining.evaluate(lake_settings, challenger, holdout)
    assert (
        evaluation.compared_version == champion and evaluation.holdout_rows == len(holdout) == 600
    )
    for metrics in (evaluation.challenger_metrics, evaluation.champion_metrics):
        assert (
            metrics is not None
            and metrics["rows"] == 600
            and metrics["positives"] == holdout["TARGET"].sum()
        )
    assert (
        evaluation.comparison is not None
        and evaluation.comparison.low <= evaluation.comparison.high
    )


def test_a_stale_champion_blocks_the_transition(lake_settings: Settings) -> None:
    _bootstrap(lake_settings)
    challenger, clean = _challenger(lake_settings, "2025-01")
    evaluation = retraining.evaluate(
        lake_settings, challenger, retraining.holdout_of(lake_settings, "2025-01", clean)
    )
    other, _ = _challenger(lake_settings, "2025-02")
    registry = Registry(lake_settings)
    registry.set_champion(other.version)  # an operator moved the champion meanwhile
    decision = retraining.Decision(True, "forced for the test")
    with pytest.raises(StaleChampionError):
        retraining.transition(lake_settings, evaluation, decision)
    assert registry.champion().version == other.version
    assert "decision" not in registry.version(challenger.version).tags  # the month stays undecided


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
    bad = change(lake.read_month("2025-01"))  # type: ignore[operator]
    ref = lake.write_month("2026-01", bad)
    with pytest.raises(retraining.MonthError) as error:
        retraining.validate(lake_settings, retraining.fetch(lake_settings, "2026-01"))
    assert str(error.value).startswith(ref.path) and words in str(error.value)


@pytest.mark.parametrize(("data", "words"), [(b"", "empty file"), (b"garbage bytes", "unreadable")])
def test_corrupt_or_empty_partitions_fail_validation(
    lake_settings: Settings, data: bytes, words: str
) -> None:
    path = Path(lake_settings.lake) / "incoming" / "month=2026-02" / "applications.parquet"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    fetched = retraining.fetch(lake_settings, "2026-02")  # fetching bytes succeeds
    with pytest.raises(retraining.MonthError, match=words) as error:
        retraining.validate(lake_settings, fetched)
    assert str(path) in str(error.value)
