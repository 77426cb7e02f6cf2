"""Unreadable captured files are set aside, never fatal (adapters/unreadable.py): a truncated
file of scores and an empty tally file are moved to quarantine with their reason; the window,
the rejected rate, the retention and the audit go on over the rest."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.monitoring import RequestTallies
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.adapters.unreadable import Quarantine
from fraud_detection.core.monitoring import Rejections, Window
from fraud_detection.core.scored import REQUESTS_DIR, request_tally_schema
from fraud_detection.core.training import TrainedModel
from fraud_detection.steps import monitor
from fraud_detection.steps.audit import scorings
from tests.support.traffic import captured

TODAY = date(2025, 3, 14)
NOON = datetime(2025, 3, 14, 12, tzinfo=UTC)


def _tally(lake: Lake, name: str, rows: list[tuple[int, int]]) -> None:
    table = pa.table(
        {
            "window_start": [NOON] * len(rows),
            "window_end": [NOON] * len(rows),
            "endpoint": ["/predict"] * len(rows),
            "status": [s for s, _ in rows],
            "requests": [n for _, n in rows],
        },
        schema=request_tally_schema(),
    )
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)
    path = f"{lake.root}/{REQUESTS_DIR}/day={TODAY}/{name}.parquet"
    assert lake.create_file(path, buffer.getvalue().to_pybytes())


def test_broken_files_are_set_aside_and_the_window_retention_and_audit_go_on(
    tmp_path: Path, month_frame: pd.DataFrame, trained: TrainedModel
) -> None:
    # Given a day of scores and request tallies, one file of each broken, and a day long expired
    lake = Lake(str(tmp_path / "lake"))
    store = ScoredStore(lake)
    frame = month_frame.head(30)
    store.write(
        captured(frame.head(20), trained.booster, version="1", threshold=0.3, scored_at=NOON), "a"
    )
    broken = store.write(
        captured(frame.tail(10), trained.booster, version="1", threshold=0.3, scored_at=NOON), "b"
    )[0]
    Path(broken).write_bytes(Path(broken).read_bytes()[:200])  # truncated: a disk that filled
    store.write(
        captured(
            frame.head(1),
            trained.booster,
            version="1",
            threshold=0.3,
            scored_at=NOON - timedelta(days=120),
        ),
        "c",
    )
    _tally(lake, "w-1", [(200, 90), (400, 10)])
    empty = Path(f"{lake.root}/{REQUESTS_DIR}/day={TODAY}/w-2.parquet")
    empty.write_bytes(b"")

    # When the retention runs, then the window is read and the rejected rate tallied
    assert monitor.expire_captured(store, retention_days=90, today=TODAY) == ["2024-11-14"]
    data = monitor.read_window(store, Window(TODAY, TODAY), sample_rows=100, seed=1)
    tallies = RequestTallies(lake)

    # Then the readable records are all counted, the broken ones set aside with their reason
    assert data.traffic.rows == 20
    assert tallies.rejections(Window(TODAY, TODAY)) == Rejections(10, 100)
    aside = {f.path: f.reason for f in (*store.set_aside, *tallies.set_aside)}
    assert set(aside) == {f"day={TODAY}/{Path(broken).name}", f"_requests/day={TODAY}/w-2.parquet"}
    assert all(reason for reason in aside.values())
    assert not Path(broken).exists() and not empty.exists()
    quarantine = Quarantine(lake)
    assert sorted(quarantine.found()) == sorted(aside)
    assert (Path(quarantine.root) / f"day={TODAY}" / f"{Path(broken).name}.reason.txt").read_text()
    # and the audit finds an application of the readable file
    application = int(frame["SK_ID_CURR"].iloc[0])
    assert len(scorings(store, application)) == 1
