"""The monitor's share flagged against the team's capacity (steps/monitor_capacity.py): hand
counts on windows built by hand, and on captured records read by the monitor's own steps."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.config import Settings
from fraud_detection.core.features import validate_frame
from fraud_detection.core.monitoring import Traffic, Window
from fraud_detection.core.scored import IS_FRAUD
from fraud_detection.sources.synthetic import generate
from fraud_detection.steps import monitor, monitor_page, monitor_report
from fraud_detection.steps.monitor import NoReference
from fraud_detection.steps.monitor_capacity import (
    capacity_markdown,
    capacity_metrics,
    capacity_rows,
    watch_capacity,
)
from tests.support.captured import captured_table

WINDOW = Window(date(2025, 3, 1), date(2025, 3, 14))  # two weeks


def _traffic(records: dict[str, int], flagged: dict[str, int]) -> Traffic:
    rows = sum(records.values())
    return Traffic(rows, rows, rows, records, {"1": rows}, {}, flagged)


# 1,000 records: 400 in the first week (on the 2nd), 600 in the second (on the 10th and 14th).
RECORDS = {"2025-03-02": 400, "2025-03-10": 300, "2025-03-14": 300}


def test_a_window_that_flags_too_many_is_past_the_gap_in_words_and_counts() -> None:
    # Given a capacity of 5 % and 120 of the window's 1,000 records flagged as served
    settings = Settings(review_capacity=0.05, monitor_max_capacity_gap=0.02)
    traffic = _traffic(RECORDS, {"2025-03-02": 20, "2025-03-10": 40, "2025-03-14": 60})

    watch = watch_capacity(WINDOW, traffic, settings)

    # Then 12 % flagged against 5 %: 7 points over the limit of 2, said first in words
    assert watch is not None
    assert (watch.flagged, watch.records) == (120, 1_000)
    assert abs(watch.share - 0.12) < 1e-12 and abs(watch.gap - 0.07) < 1e-12
    assert watch.past_limit
    assert watch.passed() == [
        "120 of 1,000 records flagged (12.0%) against the capacity of 5.0%: 7.0 points more, "
        "past the limit of ±2.0 points"
    ]
    # and each week against its own capacity (5 % of its records)
    weeks = [(str(w.since), str(w.until), w.records, w.flagged, w.capacity) for w in watch.weeks]
    assert weeks == [
        ("2025-03-01", "2025-03-07", 400, 20, 20.0),
        ("2025-03-08", "2025-03-14", 600, 100, 30.0),
    ]
    rows = capacity_rows(watch)
    assert rows[0]["share flagged"] == "12.0%" and rows[0]["gap"] == "+7.0 points past the limit"
    assert rows[2]["gap"] == "+70 flags"
    assert capacity_metrics(watch) == {
        "capacity_share": 0.05,
        "flagged_share": watch.share,
        "flagged_records": 120.0,
        "capacity_gap": watch.gap,
        "capacity_past_limit": 1.0,
    }
    assert capacity_markdown(watch)[1].startswith("Flags against the team's capacity: 120 of")


def test_a_window_near_the_capacity_is_within_the_gap_either_way() -> None:
    settings = Settings(review_capacity=0.05, monitor_max_capacity_gap=0.02)
    over = watch_capacity(WINDOW, _traffic(RECORDS, {"2025-03-10": 69}), settings)
    under = watch_capacity(WINDOW, _traffic(RECORDS, {"2025-03-10": 31}), settings)
    too_few = watch_capacity(WINDOW, _traffic(RECORDS, {"2025-03-10": 29}), settings)
    assert over is not None and not over.past_limit and over.passed() == []  # 6.9 %: +1.9
    assert under is not None and not under.past_limit  # 3.1 %: −1.9
    assert too_few is not None and too_few.past_limit  # 2.9 %: −2.1
    assert "2.1 points fewer, past the limit of ±2.0 points" in too_few.in_words()


def test_a_weekly_capacity_is_counted_in_flags_per_week() -> None:
    # Given a capacity of 35 applications a week: 70 in the two weeks of 1,000 records (7 %)
    settings = Settings(review_capacity_per_week=35, monitor_max_capacity_gap=0.02)
    traffic = _traffic(RECORDS, {"2025-03-02": 30, "2025-03-14": 70})

    watch = watch_capacity(WINDOW, traffic, settings)

    # Then 100 flagged (10 %) against 7 %: 3 points over; week by week 30 and 70 against 35
    assert watch is not None and watch.per_week == 35
    assert abs(watch.capacity - 0.07) < 1e-12 and watch.past_limit
    assert "against the capacity of 35 a week (7.0% of this traffic)" in watch.in_words()
    assert [(w.flagged, w.capacity) for w in watch.weeks] == [(30, 35.0), (70, 35.0)]
    assert capacity_metrics(watch)["capacity_per_week"] == 35.0
    # and a window of three days gets three sevenths of a week
    short = watch_capacity(Window(date(2025, 3, 12), date(2025, 3, 14)), traffic, settings)
    assert short is not None and [w.capacity for w in short.weeks] == [15.0]


def test_without_a_capacity_or_without_traffic_nothing_is_watched() -> None:
    assert watch_capacity(WINDOW, _traffic(RECORDS, {}), Settings()) is None
    empty = Traffic(0, 0, 0)
    assert watch_capacity(WINDOW, empty, Settings(review_capacity=0.05)) is None
    assert capacity_rows(None) == [] and capacity_metrics(None) == {}


def test_the_monitor_counts_every_captured_decision_and_raises_the_event(tmp_path: Path) -> None:
    # Given 500 captured records over two days, 75 of them served as flagged (15 %)
    frame = validate_frame(generate(500, month_index=0, seed=5, id_start=1)[0])
    table = captured_table(frame, datetime(2025, 3, 13, tzinfo=UTC), days=2)
    flags = np.zeros(500, dtype=bool)
    flags[::20] = True  # 25
    flags[1:100:2] = True  # 50 more
    table = table.set_column(table.schema.get_field_index(IS_FRAUD), IS_FRAUD, pa.array(flags))
    store = ScoredStore(Lake(str(tmp_path / "lake")))
    store.write(table, "w1")
    settings = Settings(review_capacity=0.05)

    # When the monitor reads the week and compares (no champion: no drift)
    data = monitor.read_window(store, Window.ending(date(2025, 3, 14), 7), sample_rows=100, seed=1)
    result = monitor.compare(data, NoReference(None, "there is no champion"), None, settings)

    # Then every record is counted (not the sample of 100), past the gap, and the event says so
    assert result.capacity is not None and result.capacity.flagged == 75
    assert result.capacity.records == 500 and result.alert
    assert result.capacity.in_words() in result.passed
    assert "75 of 500 records flagged (15.0%)" in result.headline
    event = monitor_report.alert_event(result, "fraud-detector", "run-1")
    assert event["payload"]["capacity"]["share_flagged"] == 0.15
    assert monitor_report.metrics(result)["capacity_gap"] == 0.15 - 0.05
    assert "Flags against the team's capacity: 75 of 500" in monitor_report.report_markdown(
        result, tracking_uri="sqlite:///x.db"
    )
    assert monitor_report.summary(result)["capacity"][0]["flagged"] == "75"
    assert "75 of 500 records flagged (15.0%)" in monitor_page.page(result)
