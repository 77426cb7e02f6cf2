"""The monitor's steps (steps/monitor.py, steps/monitor_report.py) on the in-memory registry and
lake, with captured scores written to a lake folder as the service writes them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.monitoring import MonitoringStore, RequestTallies
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.config import Settings
from fraud_detection.core.drift import CATEGORICAL
from fraud_detection.core.features import FEATURES, validate_frame
from fraud_detection.core.monitoring import Rejections, Traffic, Window, keep_sample, limits_passed
from fraud_detection.core.params import MonitorLimits
from fraud_detection.core.scored import REQUESTS_DIR, request_tally_schema
from fraud_detection.core.tags import Role, VersionTags
from fraud_detection.sources.synthetic import generate, generate_lake_partitions
from fraud_detection.steps import first_champion, intake, monitor, monitor_page, monitor_report
from tests.support.fakes import InMemoryLake, InMemoryRegistry, StoredVersion
from tests.support.traffic import SHIFTED, captured, shifted

# Both samples above 1,000 rows, where Evidently measures distances rather than p-values, and
# large enough that two samples of one distribution stay well below its 0.1 threshold.
SETTINGS = Settings(bootstrap_samples=50, monitor_reference_rows=4_000, monitor_sample_rows=3_000)
TODAY = date(2025, 3, 14)
NOON = datetime(2025, 3, 14, 12, tzinfo=UTC)
IDS_FROM = 987_654_000  # ids that no histogram bin edge is likely to print


@pytest.fixture(scope="module")
def champion() -> tuple[InMemoryLake, InMemoryRegistry]:
    """A lake with base history and a champion bootstrapped on it (its lineage: base)."""
    lake = InMemoryLake()
    for part in generate_lake_partitions(
        months=1, rows_per_month=1_000, base_rows=4_000, seed=SETTINGS.seed
    ):
        lake.write(part.name, part.frame)
    registry = InMemoryRegistry()
    base = intake.fetch(lake, intake.BASE)
    first_champion.bootstrap_champion(registry, SETTINGS, base, intake.validate(base))
    return lake, registry


def _applications(rows: int, seed: int) -> pd.DataFrame:
    frame, _ = generate(rows, month_index=0, seed=seed, id_start=IDS_FROM)
    return validate_frame(frame)


def _store(tmp_path: Path) -> ScoredStore:
    return ScoredStore(Lake(str(tmp_path / "lake")))


def test_traffic_with_shifted_inputs_is_reported_as_drifted_on_those_columns_only(
    champion: tuple[InMemoryLake, InMemoryRegistry], tmp_path: Path
) -> None:
    # Given the champion's traffic of two days, drawn like its training data but with four
    # inputs moved on purpose
    lake, registry = champion
    version = registry.champion().version
    booster = registry.load_booster(version)
    store = _store(tmp_path)
    traffic = shifted(_applications(3_200, seed=77))
    for day, part in enumerate((traffic.iloc[:1_800], traffic.iloc[1_800:])):
        store.write(captured(part, booster, version=version, threshold=0.3,
                             scored_at=NOON - timedelta(days=day)), "w1")  # fmt: skip

    # When the monitor reads the last week and compares it with the champion's reference
    data = monitor.read_window(store, Window.ending(TODAY, 7), sample_rows=3_000, seed=1)
    reference = monitor.build_reference(lake, registry, SETTINGS)
    result = monitor.compare(data, reference, None, SETTINGS)

    # Then exactly the shifted inputs moved, and the headline says which in plain words
    assert isinstance(reference, monitor.Reference) and reference.partitions == ("base",)
    assert (reference.rows, reference.rows_total) == (4_000, 4_000)
    assert result.drift is not None and len(result.drift.features) == len(FEATURES)
    assert set(result.drift.drifted_features) == set(SHIFTED)
    kinds = {c.column: c.kind for c in result.drift.features}
    assert kinds["FLAG_OWN_CAR"] == "categorical" and kinds["DAYS_BIRTH"] == "numerical"
    assert f"4 of {len(FEATURES)} inputs moved (" in result.headline
    assert all(name in result.headline for name in SHIFTED)
    assert "3,200 records scored from 2025-03-08 to 2025-03-14" in result.headline
    # and 4 of 54 is within the default 10 % limit; the score may move with its inputs
    assert ("inputs drifted" in " ".join(result.passed)) is False
    assert result.alert == result.drift.score_drifted
    # and the volume and bands count every record, the drift tests a bounded sample
    assert result.traffic.rows == 3_200 and result.traffic.applications == 3_200
    assert result.traffic.by_day == {"2025-03-13": 1_400, "2025-03-14": 1_800}
    assert len(data.sample) == 3_000 and result.drift.current_rows == 3_000
    assert sum(b.current for b in result.bands) == pytest.approx(1.0)
    assert sum(b.reference or 0 for b in result.bands) == pytest.approx(1.0)

    # and the report opens with the headline and carries aggregates only, no record
    markdown = monitor_report.report_markdown(result, tracking_uri="sqlite:///x.db")
    assert markdown.splitlines()[0] == result.headline
    assert "Rejected requests: not recorded" in markdown
    html = monitor_page.page(result)
    assert result.headline in html
    for text in (markdown, html, str(monitor_report.summary(result))):
        assert not any(str(i) in text for i in traffic["SK_ID_CURR"].head(50))

    # and the report is a run of its own that the champion's version points at
    run_id = monitor_report.record_monitor(registry, result, markdown, {"window_days": "7"})
    run = registry.runs[run_id]
    assert run.tags["model_version"] == version and run.tags["monitor"] == "true"
    assert run.artifacts[monitor_report.REPORT_HTML] == html
    assert run.metrics["drifted_features"] == 4.0
    assert registry.champion().tags.monitor_run_id == run_id


def test_no_traffic_in_the_window_is_a_clear_message_not_a_crash(
    champion: tuple[InMemoryLake, InMemoryRegistry], tmp_path: Path
) -> None:
    lake, registry = champion
    data = monitor.read_window(_store(tmp_path), Window.ending(TODAY, 7), sample_rows=100, seed=1)
    result = monitor.compare(
        data, monitor.build_reference(lake, registry, SETTINGS), None, SETTINGS
    )
    assert result.headline == (
        "No traffic from 2025-03-08 to 2025-03-14: nothing was scored in the window, "
        "so nothing to compare."
    )
    assert (result.drift, result.passed, result.bands, result.traffic.rows) == (None, [], [], 0)
    assert result.headline in monitor_page.page(result)
    assert monitor_report.drift_rows(result) == []
    assert monitor_report.report_markdown(result, tracking_uri="x").startswith("No traffic")


def test_a_champion_without_lineage_is_reported_without_drift(tmp_path: Path) -> None:
    registry = InMemoryRegistry(aliases={"champion": "1"})
    registry.stored.append(StoredVersion("1", None, VersionTags(role=Role.EXTERNAL)))
    reference = monitor.build_reference(InMemoryLake(), registry, SETTINGS)
    assert isinstance(reference, monitor.NoReference) and reference.version == "1"
    data = monitor.WindowData(
        Window(TODAY, TODAY), Traffic(3, 3, 3, by_band={"low_risk": 3}), pd.DataFrame()
    )
    settings = SETTINGS.model_copy(update={"monitor_min_records": 1})
    result = monitor.compare(data, reference, Rejections(1, 4), settings)
    assert result.headline.startswith(
        "Past the limits (25.0% of requests were rejected (> 5.0%)). "
        "Drift not measured (champion v1 has no lineage: a model registered from a file)"
    )
    assert result.passed == ["25.0% of requests were rejected (> 5.0%)"] and result.alert
    assert monitor.build_reference(InMemoryLake(), InMemoryRegistry(), SETTINGS) == (
        monitor.NoReference(None, "there is no champion")
    )


def test_limits_are_passed_by_drifted_share_score_drift_and_rejected_rate() -> None:
    limits = MonitorLimits(
        max_drifted_share=0.05, alert_on_score_drift=False, max_rejected_rate=0.1
    )
    assert limits_passed(None, Rejections(10, 100), limits) == []
    assert limits_passed(None, Rejections(11, 100), limits) == [
        "11.0% of requests were rejected (> 10.0%)"
    ]
    assert limits_passed(None, None, limits) == []  # not recorded is not a rejection


def test_the_sample_is_uniform_over_every_chunk_and_bounded() -> None:
    rng = np.random.default_rng(0)
    kept = None
    for start in range(0, 10_000, 1_000):  # ten chunks of 1,000 rows
        kept = keep_sample(kept, pd.DataFrame({"row": range(start, start + 1_000)}), 500, rng)
        assert len(kept) == 500
    assert kept is not None
    per_chunk = np.bincount(kept["row"].to_numpy() // 1_000, minlength=10)
    assert per_chunk.min() > 25 and per_chunk.max() < 75  # ~50 from each chunk, not the last


def test_categories_are_the_flags_and_the_rating() -> None:
    assert "REGION_RATING_CLIENT" in CATEGORICAL and "FLAG_OWN_CAR" in CATEGORICAL
    assert "CNT_CHILDREN" not in CATEGORICAL and "CREDIT_TO_INCOME" not in CATEGORICAL


def test_retention_deletes_only_the_days_older_than_it(
    champion: tuple[InMemoryLake, InMemoryRegistry], tmp_path: Path
) -> None:
    _, registry = champion
    booster = registry.load_booster("1")
    store = _store(tmp_path)
    frame = _applications(6, seed=5)
    days = [NOON - timedelta(days=d) for d in (0, 0, 29, 30, 31, 45)]
    store.write(captured(frame, booster, version="1", threshold=0.3, scored_at=days), "w")
    removed = monitor.expire_captured(store, retention_days=30, today=TODAY)
    assert removed == ["2025-01-28", "2025-02-11"]
    assert store.days() == ["2025-02-12", "2025-02-13", "2025-03-14"]


def test_rejected_rate_is_read_from_the_request_tallies_or_said_not_recorded(
    tmp_path: Path,
) -> None:
    lake = Lake(str(tmp_path / "lake"))
    tallies = RequestTallies(lake)
    window = Window(TODAY, TODAY)
    assert tallies.rejections(window) is None
    table = pa.table(
        {
            "window_start": [NOON] * 3,
            "window_end": [NOON] * 3,
            "endpoint": ["/predict", "/predict", "/score"],
            "status": [200, 400, 413],
            "requests": [90, 6, 4],
        },
        schema=request_tally_schema(),
    )
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)
    assert lake.create_file(
        f"{lake.root}/{REQUESTS_DIR}/day={TODAY}/w-1.parquet", buffer.getvalue().to_pybytes()
    )
    assert tallies.rejections(window) == Rejections(10, 100)
    assert tallies.rejections(Window(TODAY - timedelta(days=1), TODAY - timedelta(days=1))) is None


def test_a_day_s_report_and_summary_are_written_to_the_lake(tmp_path: Path) -> None:
    store = MonitoringStore(Lake(str(tmp_path / "lake")))
    path = store.write("2025-03-14", "<html>first</html>", {"alert": False})
    path = store.write("2025-03-14", "<html>again</html>", {"alert": True})  # the day's latest
    assert path == str(tmp_path / "lake" / "monitoring" / "day=2025-03-14" / "report.html")
    assert Path(path).read_text() == "<html>again</html>"
    assert store.read_summary("2025-03-14") == {"alert": True}
    assert store.read_summary("2025-03-15") is None
