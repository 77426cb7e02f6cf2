"""A month fetched, validated, refused or quarantined with its file and column named."""

from __future__ import annotations

import pandas as pd
import pytest

from fraud_detection.sources.synthetic import generate_lake_partitions
from fraud_detection.steps import (
    intake,
    months,
)
from tests.support.fakes import InMemoryLake, InMemoryRegistry
from tests.support.month_steps import SETTINGS


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
