"""The pool read from the lake partition by partition: the same booster as the rows held in
memory, validation in a streaming pass, bounded reads, the history floor and its lineage."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from fraud_detection.adapters.partition_files import decode_chunks, decode_columns, parquet_bytes
from fraud_detection.config import Settings
from fraud_detection.core.features import (
    COLUMN_ALIASES,
    FEATURES,
    feature_matrix,
    normalise_columns,
)
from fraud_detection.core.lineage import PartitionRef, lineage_hash
from fraud_detection.core.training import JudgedRecipe, TrainingPart, refit_parts, train_parts
from fraud_detection.core.training_batches import (
    WeightedPart,
    batch_of,
    batch_of_columns,
    pool_matrix,
)
from fraud_detection.sources.synthetic import generate_lake_partitions
from fraud_detection.steps import (
    intake,
    pool,
    report,
)
from tests.support.fakes import InMemoryLake, InMemoryRegistry
from tests.support.month_steps import decided, gathered

SETTINGS = Settings(xgb=Settings().xgb.model_copy(update={"n_estimators": 30}))
MONTH = "2025-03"


class Decided:
    """The one thing gather asks the registry: which months were decided."""

    def __init__(self, months: set[str]) -> None:
        self.months = months

    def decided_months(self) -> set[str]:
        return self.months

    def versions(self) -> list[object]:
        return []  # none held as immature


@pytest.fixture(scope="module")
def lake() -> InMemoryLake:
    found = InMemoryLake()
    for part in generate_lake_partitions(
        months=3, rows_per_month=1_500, base_rows=4_000, seed=SETTINGS.seed
    ):
        found.write(part.name, part.frame)
    return found


def _gathered(
    lake: InMemoryLake, *, floor: pool.HistoryFloor | None = None, chunk_rows: int = 10**6
) -> tuple[intake.MonthData, pool.TrainingInputs]:
    data = intake.fetch(lake, MONTH)
    split = intake.split(SETTINGS, MONTH, intake.validate(data))
    decided = Decided({"2025-01", "2025-02"})
    return data, pool.gather(lake, decided, data, split, floor=floor, chunk_rows=chunk_rows)


def _in_memory(lake: InMemoryLake, inputs: pool.TrainingInputs) -> list[TrainingPart]:
    """The same pool as main held it: every partition validated into a frame."""
    held = [
        TrainingPart(p.name, intake.validate(intake.fetch(lake, p.name)), p.age)
        for p in inputs.parts[:-1]
    ]
    return [*held, inputs.parts[-1]]


def test_a_pool_read_from_the_lake_trains_the_same_booster_byte_for_byte(
    lake: InMemoryLake,
) -> None:
    _, inputs = _gathered(lake)
    plan, seed = SETTINGS.training_plan(), 7
    streamed = train_parts(inputs.parts, SETTINGS.xgb, plan, seed=seed)
    held = train_parts(_in_memory(lake, inputs), SETTINGS.xgb, plan, seed=seed)
    assert bytes(streamed.booster.save_raw("ubj")) == bytes(held.booster.save_raw("ubj"))
    assert streamed.positive_weight == held.positive_weight and streamed.rows == held.rows
    # and the refit (correction stage on the newest months, history stage kept) as well
    whole = pd.concat([inputs.parts[-1].frame, inputs.holdout], ignore_index=True)
    saved = streamed.booster.save_raw("ubj")
    refits = [
        refit_parts(
            [*parts[:-1], TrainingPart(MONTH, whole, 0.0)],
            SETTINGS.xgb,
            plan,
            seed=seed,
            # loaded afresh each time, as the refit loads it from the registry (a booster
            # object that was trained on already does not continue byte for byte the same)
            judged=JudgedRecipe(0.5, 0.25, xgb.Booster(model_file=bytearray(saved))),
        )
        for parts in (inputs.parts, _in_memory(lake, inputs))
    ]
    assert bytes(refits[0].booster.save_raw("ubj")) == bytes(refits[1].booster.save_raw("ubj"))


def test_earlier_months_are_not_held_but_read_in_chunks_in_file_order(
    lake: InMemoryLake,
) -> None:
    _, inputs = _gathered(lake, chunk_rows=1_000)
    base = inputs.parts[0]
    with pytest.raises(TypeError, match="batch by batch"):
        _ = base.frame  # no frame of an earlier partition exists
    batches = list(base.rows.batches())
    assert [len(b.label) for b in batches] == [1_000] * 4  # base: 4,000 rows
    validated = intake.validate(intake.fetch(lake, "base"))
    assert (np.concatenate([b.features for b in batches]) == feature_matrix(validated)).all()
    assert base.rows.rows == 4_000 and base.rows.positives == int(validated["TARGET"].sum())
    assert [r.name for r in inputs.lineage] == ["base", "2025-01", "2025-02", MONTH]


@pytest.mark.parametrize("csv", [False, True])
def test_columns_read_straight_from_the_file_give_the_frames_batch_nans_and_aliases_included(
    csv: bool,
) -> None:
    frame = next(
        generate_lake_partitions(months=0, rows_per_month=0, base_rows=300, seed=SETTINGS.seed)
    ).frame
    frame.loc[frame.index[::7], "CNT_CHILDREN"] = np.nan  # an integer column with gaps
    frame.loc[frame.index[::5], "AMT_ANNUITY"] = np.nan
    aliased = next(a for a, name in COLUMN_ALIASES.items() if a != name)
    frame = frame.rename(columns={COLUMN_ALIASES[aliased]: aliased})
    data = frame.to_csv(index=False).encode() if csv else parquet_bytes(frame)
    ref = PartitionRef("base", "base/applications." + ("csv" if csv else "parquet"), "")
    wanted = [c for c in frame.columns if c != "SK_ID_CURR"]

    direct = [batch_of_columns(c) for c in decode_columns(ref, data, 128, wanted)]
    through_frames = [batch_of(normalise_columns(c)) for c in decode_chunks(ref, data, 128)]

    assert [len(b.label) for b in direct] == [128, 128, 44]
    for one, other in zip(direct, through_frames, strict=True):
        np.testing.assert_array_equal(one.features, other.features)  # NaN where NaN
        np.testing.assert_array_equal(one.label, other.label)
    assert np.isnan(direct[0].features[0, FEATURES.index("CNT_CHILDREN")])


def test_a_bad_value_deep_in_a_partition_names_the_file_the_column_and_the_row() -> None:
    lake = InMemoryLake()
    base = next(generate_lake_partitions(months=0, base_rows=3_000, seed=1)).frame
    bad = base.copy()
    bad.loc[2_500, "AMT_CREDIT"] = -5.0
    lake.write("base", bad)
    with pytest.raises(intake.MonthError, match=r"mem://base/.*AMT_CREDIT.*rows 2500"):
        intake.validate_streamed(intake.fetch(lake, "base"), chunk_rows=1_000)
    repeated = base.copy()
    repeated.loc[2_200, "SK_ID_CURR"] = repeated.loc[10, "SK_ID_CURR"]  # in another chunk
    lake.write("base", repeated)
    with pytest.raises(intake.MonthError, match=r"SK_ID_CURR.*duplicated.*rows 2200"):
        intake.validate_streamed(intake.fetch(lake, "base"), chunk_rows=1_000)


def test_a_delivery_replaced_after_the_pool_was_gathered_is_not_trained_on() -> None:
    lake = InMemoryLake()
    parts = list(generate_lake_partitions(months=1, rows_per_month=1_000, base_rows=2_000, seed=2))
    for part in parts:
        lake.write(part.name, part.frame)
    data = intake.fetch(lake, "2025-01")
    split = intake.split(SETTINGS, "2025-01", intake.validate(data))
    inputs = pool.gather(lake, Decided(set()), data, split)
    lake.write("base", parts[0].frame.iloc[:1_500])  # a new delivery of the base
    with pytest.raises(intake.MonthError, match="changed while the pool was being trained"):
        list(inputs.parts[0].rows.batches())


def test_months_below_the_history_floor_leave_the_pool_and_its_lineage(
    lake: InMemoryLake,
) -> None:
    # Ages at 2025-03: base 3, 2025-01 2, 2025-02 1; weights 0.5 ** (age / 1)
    data, every = _gathered(lake)
    _, floored = _gathered(lake, floor=pool.HistoryFloor(weight=0.2, half_life=1.0))
    assert [p.name for p in floored.parts] == ["2025-01", "2025-02", MONTH]
    assert floored.left_out == ["base"] and every.left_out == []
    assert [r.name for r in floored.lineage] == ["2025-01", "2025-02", MONTH]
    assert floored.data_sha256 == lineage_hash(floored.lineage) != every.data_sha256
    assert floored.lineage[-1] == data.ref
    # a floor no month is below leaves the pool (and its reuse key) as it was
    _, kept = _gathered(lake, floor=pool.HistoryFloor(weight=0.01, half_life=1.0))
    assert kept.data_sha256 == every.data_sha256 and kept.left_out == []


def test_the_settings_floor_is_the_history_weight_of_the_drift_plan() -> None:
    floor = pool.HistoryFloor.of(Settings(history_floor=0.1, history_half_life_months=3))
    assert floor.keeps(9.0) and not floor.keeps(10.0)  # 0.5 ** (10 / 3) = 0.099


def test_past_the_configured_size_the_pool_goes_to_xgboosts_disk_cache(
    lake: InMemoryLake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    _, inputs = _gathered(lake)
    parts = [WeightedPart(p.rows, 1.0) for p in inputs.parts]
    with pool_matrix(parts, 2.0, external_memory_rows=7_750) as matrix:
        assert type(matrix).__name__ == "ExtMemQuantileDMatrix"
        assert matrix.num_row() == 4_000 + 3_000 + 750 and matrix.feature_names == list(FEATURES)
        assert list(tmp_path.glob("fraud-pool-cache-*/*"))  # the quantised pages, on disk
        del matrix
    assert not list(tmp_path.iterdir())  # and removed after
    with pool_matrix(parts, 2.0, external_memory_rows=7_751) as matrix:
        assert type(matrix).__name__ == "QuantileDMatrix"
    # the recipe trains on it: a model close to the in-memory one on the month's holdout
    plan = SETTINGS.training_plan()
    on_disk = train_parts(inputs.parts, SETTINGS.xgb, plan, seed=7, external_memory_rows=1)
    held = train_parts(inputs.parts, SETTINGS.xgb, plan, seed=7)
    x = feature_matrix(inputs.holdout)
    gap = np.abs(on_disk.booster.inplace_predict(x) - held.booster.inplace_predict(x))
    assert on_disk.rows == held.rows and float(np.mean(gap)) < 0.02


def test_the_report_names_the_partitions_used_and_those_left_out(lake: InMemoryLake) -> None:
    _, floored = _gathered(lake, floor=pool.HistoryFloor(weight=0.2, half_life=1.0))
    text = report.pool_section(pool.PoolUse.of(floored, 0.2))
    assert "Trained on 3 partitions: `2025-01`, `2025-02`, `2025-03`." in text
    assert "below the floor 0.2 (FRAUD_HISTORY_FLOOR), and not in the lineage: `base`." in text
    _, every = _gathered(lake)
    assert "Left out" not in report.pool_section(pool.PoolUse.of(every, 0.0))


def test_the_pool_holds_base_earlier_decided_months_and_the_month_once_each(
    lake: InMemoryLake,
) -> None:
    registry = InMemoryRegistry(stored=[decided("2", "2025-01", "promoted")])
    data, inputs = gathered(lake, registry, "2025-03")  # 2025-02 is not decided: left out
    assert [p.name for p in inputs.parts] == ["base", "2025-01", "2025-03"]
    assert [p.age for p in inputs.parts] == [3.0, 2.0, 0.0]
    assert inputs.lineage == [lake.fetch("base")[1], lake.fetch("2025-01")[1], data.ref]
    assert inputs.data_sha256 == lineage_hash(inputs.lineage)
    assert not set(inputs.parts[-1].frame["SK_ID_CURR"]) & set(inputs.holdout["SK_ID_CURR"])
