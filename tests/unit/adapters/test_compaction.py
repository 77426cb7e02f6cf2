"""Compaction of closed days of captured scores (adapters/compaction.py) on a local lake: the
same records before and after, in fewer files sorted by application id; a run killed before or
after its commit, then run again, loses and doubles nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fraud_detection.adapters.compaction import Compactor
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.adapters.scored_days import list_day
from fraud_detection.core.training import TrainedModel
from fraud_detection.steps import monitor
from fraud_detection.steps.audit import scorings
from tests.support.traffic import captured

DAY = datetime(2025, 3, 10, 12, tzinfo=UTC)
KEYS = ["request_id", "scored_at", "SK_ID_CURR"]


class Killed(RuntimeError):
    pass


def _filled(tmp_path: Path, frame: pd.DataFrame, trained: TrainedModel) -> ScoredStore:
    """Two days of 30 flushes of 10 records each (every id scored on both days)."""
    store = ScoredStore(Lake(str(tmp_path / "lake")))
    for days_ago in (0, 1):
        for start in range(0, 300, 10):
            part = frame.iloc[start : start + 10]
            at = DAY - timedelta(days=days_ago, minutes=start)
            store.write(
                captured(part, trained.booster, version="1", threshold=0.3, scored_at=at), "w"
            )
    return store


def _records(store: ScoredStore) -> pa.Table:
    return store.read(columns=KEYS).sort_by([(k, "ascending") for k in KEYS])


def _compactor(store: ScoredStore) -> Compactor:
    return Compactor(store.lake, rows_per_file=200, row_group_rows=50)


def test_a_closed_day_becomes_a_few_sorted_files_holding_the_same_records(
    tmp_path: Path, month_frame: pd.DataFrame, trained: TrainedModel
) -> None:
    store = _filled(tmp_path, month_frame.head(300), trained)
    before = _records(store)
    application = int(month_frame["SK_ID_CURR"].iloc[42])
    audit_before = scorings(store, application)

    done = monitor.compact_closed_days(
        _compactor(store), store.days(), after_days=2, today=date(2025, 3, 11)
    )

    assert [(c.day, c.files_before, c.files_after, c.rows) for c in done] == [
        ("2025-03-09", 30, 2, 300)
    ]  # only the closed day; 2025-03-10 is still open
    assert _records(store).equals(before) and before.num_rows == 600
    assert scorings(store, application) == audit_before and len(audit_before) == 2
    files = list_day(store.lake, f"{store.root}/day=2025-03-09")
    assert len(files.live) == 2 and files.compact and not files.replaced
    first = pq.ParquetFile(files.live[0])
    ids = first.read(columns=["SK_ID_CURR"])["SK_ID_CURR"].to_pylist()
    assert ids == sorted(ids) and first.metadata.num_row_groups == 4
    assert first.metadata.row_group(0).column(2).statistics.has_min_max
    # and a second run finds nothing to do
    assert _compactor(store).compact_day("2025-03-09") is None


@pytest.mark.parametrize("kill_at", ["commit", "delete"])
def test_a_compaction_killed_half_way_and_run_again_loses_and_doubles_nothing(
    tmp_path: Path,
    month_frame: pd.DataFrame,
    trained: TrainedModel,
    monkeypatch: pytest.MonkeyPatch,
    kill_at: str,
) -> None:
    store = _filled(tmp_path, month_frame.head(300), trained)
    before = _records(store)
    compactor = _compactor(store)
    fs = store.lake.fs
    if kill_at == "commit":  # the new files written and checked, the manifest not yet
        real_create = store.lake.create_file

        def create(path: str, data: bytes) -> bool:
            if path.endswith(".json"):
                raise Killed(path)
            return real_create(path, data)

        monkeypatch.setattr(store.lake, "create_file", create)
    else:  # committed, some of the old files deleted
        real_rm, calls = fs.rm, []

        def rm(path: str, *args: object, **kwargs: object) -> None:
            calls.append(path)
            if len(calls) > 5:
                raise Killed(path)
            real_rm(path, *args, **kwargs)

        monkeypatch.setattr(fs, "rm", rm)

    with pytest.raises(Killed):
        compactor.compact_day("2025-03-09")
    assert _records(store).equals(before)  # readers see each record once meanwhile
    monkeypatch.undo()

    done = compactor.compact_day("2025-03-09")
    assert _records(store).equals(before)
    files = list_day(store.lake, f"{store.root}/day=2025-03-09")
    assert files.compact and not files.replaced and not files.uncommitted
    assert done is None or done.rows == 300
