"""The monitor on the windows a real service has: every request refused, a probe posting one
record over and over, a promotion inside the window, a handful of records (the privacy floor)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.config import Settings
from fraud_detection.core.features import validate_frame
from fraud_detection.core.monitoring import Rejections, Window
from fraud_detection.sources.synthetic import generate, generate_lake_partitions
from fraud_detection.steps import first_champion, intake, monitor, monitor_page, monitor_report
from tests.support.fakes import InMemoryLake, InMemoryRegistry
from tests.support.traffic import captured

SETTINGS = Settings(bootstrap_samples=50, monitor_reference_rows=3_000, monitor_sample_rows=3_000)
TODAY = date(2025, 3, 14)
NOON = datetime(2025, 3, 14, 12, tzinfo=UTC)
PLANTED_INCOME = 7_654_321.0  # one applicant's income, which no report may show


@pytest.fixture(scope="module")
def champion() -> tuple[InMemoryLake, InMemoryRegistry]:
    lake = InMemoryLake()
    for part in generate_lake_partitions(
        months=1, rows_per_month=1_000, base_rows=3_000, seed=SETTINGS.seed
    ):
        lake.write(part.name, part.frame)
    registry = InMemoryRegistry()
    base = intake.fetch(lake, intake.BASE)
    first_champion.bootstrap_champion(registry, SETTINGS, base, intake.validate(base))
    return lake, registry


def _applications(rows: int, seed: int) -> pd.DataFrame:
    frame, _ = generate(rows, month_index=0, seed=seed, id_start=555_000_000)
    return validate_frame(frame)


def _run(
    champion: tuple[InMemoryLake, InMemoryRegistry],
    tmp_path: Path,
    tables: list[pa.Table],
    settings: Settings = SETTINGS,
    rejections: Rejections | None = None,
) -> monitor.MonitorResult:
    lake, registry = champion
    store = ScoredStore(Lake(str(tmp_path / "lake")))
    for table in tables:
        store.write(table, "w")
    data = monitor.read_window(store, Window(TODAY, TODAY), sample_rows=3_000, seed=1)
    return monitor.compare(
        data, monitor.build_reference(lake, registry, settings), rejections, settings
    )


def _texts(result: monitor.MonitorResult) -> str:
    markdown = monitor_report.report_markdown(result, tracking_uri="sqlite:///x.db")
    return "\n".join([markdown, monitor_page.page(result), str(monitor_report.summary(result))])


def test_a_service_refusing_every_request_raises_the_alert(
    champion: tuple[InMemoryLake, InMemoryRegistry], tmp_path: Path
) -> None:
    # 100 requests, 100 refused, not one record scored
    result = _run(champion, tmp_path, [], rejections=Rejections(100, 100))
    assert result.alert and result.passed == ["100.0% of requests were rejected (> 5.0%)"]
    assert result.headline == (
        "Past the limits (100.0% of requests were rejected (> 5.0%)). "
        "No record was scored on 2025-03-14."
    )


def test_one_record_posted_over_and_over_is_measured_or_said_too_alike_never_a_crash(
    champion: tuple[InMemoryLake, InMemoryRegistry], tmp_path: Path
) -> None:
    # A health probe posting one application with a large income 150 times (float32 inputs of
    # one value made Evidently raise "Too many bins for data range")
    _, registry = champion
    booster = registry.load_booster("1")
    probe = _applications(1, seed=3).assign(AMT_INCOME_TOTAL=2_000_000.0)
    repeated = pd.concat([probe] * 150, ignore_index=True)
    table = captured(repeated, booster, version="1", threshold=0.3, scored_at=NOON)
    result = _run(champion, tmp_path, [table])
    assert result.traffic.rows == 150
    assert result.drift is not None or "too few distinct values to compare" in result.headline
    # and a single record, with the floor lowered to let it through, is no crash either
    one = captured(_applications(1, seed=4), booster, version="1", threshold=0.3, scored_at=NOON)
    low = SETTINGS.model_copy(update={"monitor_min_records": 1})
    single = _run(champion, tmp_path / "one", [one], settings=low)
    assert single.traffic.rows == 1
    assert single.drift is not None or "too few distinct values to compare" in single.headline


def test_the_score_is_compared_only_over_the_champion_s_own_records(
    champion: tuple[InMemoryLake, InMemoryRegistry], tmp_path: Path
) -> None:
    # Half the window was scored by an earlier version whose scores sit far from the champion's
    _, registry = champion
    booster = registry.load_booster("1")
    ours = captured(
        _applications(2_000, seed=8), booster, version="1", threshold=0.3, scored_at=NOON
    )
    older = captured(
        _applications(2_000, seed=9), booster, version="0", threshold=0.3, scored_at=NOON
    )
    older = older.set_column(
        older.schema.get_field_index("probability"),
        "probability",
        pc.add(pc.multiply(older["probability"], 0.1), 0.9),
    )
    result = _run(champion, tmp_path, [ours, older])
    assert result.drift is not None and result.drift.score is not None
    assert not result.drift.score.drifted  # the old version's scores are not the champion's drift
    assert 1_000 < result.drift.score_rows < 2_000 < result.drift.current_rows
    # and a window the champion did not score at all says its score was not compared
    alone = _run(champion, tmp_path / "old", [older])
    assert alone.drift is not None and alone.drift.score is None
    assert "the champion's score was not compared (it scored none of them)" in alone.headline


def test_a_window_below_the_privacy_floor_reports_counts_and_rates_only(
    champion: tuple[InMemoryLake, InMemoryRegistry], tmp_path: Path
) -> None:
    _, registry = champion
    booster = registry.load_booster("1")
    few = _applications(20, seed=11)
    few.loc[0, "AMT_INCOME_TOTAL"] = PLANTED_INCOME
    result = _run(
        champion, tmp_path, [captured(few, booster, version="1", threshold=0.3, scored_at=NOON)]
    )
    assert result.drift is None and monitor_report.drift_rows(result) == []
    assert result.headline == (
        "Drift not measured (20 records, below the privacy floor of 100: counts and rates only); "
        "20 records scored on 2025-03-14."
    )
    texts = _texts(result)
    assert "20" in texts and "Drift per column" not in texts
    for shown in ("7654321", "7,654,321", "7.654321", "7654.321"):
        assert shown not in texts


def test_a_window_above_the_floor_shows_drift_per_column_but_no_applicant_s_value(
    champion: tuple[InMemoryLake, InMemoryRegistry], tmp_path: Path
) -> None:
    _, registry = champion
    booster = registry.load_booster("1")
    many = _applications(300, seed=12)
    many.loc[0, "AMT_INCOME_TOTAL"] = PLANTED_INCOME
    result = _run(
        champion, tmp_path, [captured(many, booster, version="1", threshold=0.3, scored_at=NOON)]
    )
    texts = _texts(result)
    assert result.drift is not None and "Drift per column" in texts
    for shown in ("7654321", "7,654,321", "7.654321", "7654.321"):
        assert shown not in texts
