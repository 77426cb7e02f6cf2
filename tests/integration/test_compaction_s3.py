"""Compaction of a closed day on a real S3 lake (SeaweedFS) while the service keeps writing:
counts and ids equal before and after, an audit finds the same rows, and a compaction killed
half-way then run again loses and doubles nothing."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest

from devstack.servers import S3Server
from fraud_detection.adapters.compaction import Compactor
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.adapters.scored_days import list_day
from fraud_detection.config import Settings
from fraud_detection.core.features import FEATURES
from fraud_detection.core.scored import SCORED_COLUMNS, scored_schema
from fraud_detection.steps.audit import scorings
from tests.support.servers import BUCKET

pytestmark = pytest.mark.integration

CLOSED = datetime(2025, 3, 9, 12, tzinfo=UTC)
OPEN = datetime(2025, 3, 11, 12, tzinfo=UTC)
KEYS = ["request_id", "SK_ID_CURR"]


class Killed(RuntimeError):
    pass


def _batch(ids: np.ndarray, at: datetime, rng: np.random.Generator) -> pa.Table:
    rows = len(ids)
    probability = rng.random(rows)
    data = {
        "request_id": [uuid.uuid4().hex for _ in range(rows)],
        "scored_at": pa.array([at] * rows, pa.timestamp("us", tz="UTC")),
        "SK_ID_CURR": ids,
        **{name: rng.random(rows, dtype=np.float32) for name in FEATURES},
        "probability": probability,
        "risk_level": ["low_risk"] * rows,
        "is_fraud": probability >= 0.3,
        "model_version": ["1"] * rows,
        "threshold": [0.3] * rows,
        "endpoint": ["/predict"] * rows,
    }
    return pa.table({name: data[name] for name in SCORED_COLUMNS}).cast(scored_schema())


def _store(s3: S3Server) -> ScoredStore:
    settings = Settings(
        lake_uri=f"s3://{BUCKET}/lake-{uuid.uuid4().hex[:8]}",
        s3_endpoint_url=s3.endpoint,
        s3_access_key_id=s3.access_key,
        s3_secret_access_key=s3.secret_key,
    )
    return ScoredStore(Lake.from_settings(settings))


def _day(store: ScoredStore, day: str) -> pa.Table:
    start = datetime.fromisoformat(day).date()
    table = store.read(since=start, until=start, columns=KEYS)
    return table.sort_by([(k, "ascending") for k in KEYS])


def test_a_closed_day_is_compacted_on_s3_while_records_keep_arriving(s3_server: S3Server) -> None:
    store = _store(s3_server)
    rng = np.random.default_rng(3)
    for n in range(20):  # 20 flushes of a closed day, every 10th id scored twice
        store.write(_batch(np.arange(n * 50, n * 50 + 50) % 900, CLOSED, rng), "w")
    before = _day(store, "2025-03-09")
    audit_before = scorings(store, 7)
    stop, arrived = threading.Event(), []

    def service() -> None:  # the service flushing today's records meanwhile, and a late one
        writer = ScoredStore(store.lake)
        while not stop.is_set():
            at = CLOSED if len(arrived) == 2 else OPEN
            writer.write(_batch(np.arange(5) + 10_000 + 5 * len(arrived), at, rng), "live")
            arrived.append(at)

    thread = threading.Thread(target=service)
    thread.start()
    while len(arrived) < 2:  # the service is writing before the compaction starts
        time.sleep(0.01)
    try:
        done = Compactor(store.lake, rows_per_file=600, row_group_rows=100).compact_day(
            "2025-03-09"
        )
    finally:
        stop.set()
        thread.join()

    assert done is not None and done.rows >= 1_000 and done.files_after == 2
    late = [at for at in arrived if at == CLOSED]
    assert len(late) == 1 and len(arrived) >= 3
    after = _day(store, "2025-03-09")
    assert after.num_rows == before.num_rows + 5 * len(late)
    assert set(before["request_id"].to_pylist()) <= set(after["request_id"].to_pylist())
    assert len(set(after["request_id"].to_pylist())) == after.num_rows  # none doubled
    assert _day(store, "2025-03-11").num_rows == 5 * (len(arrived) - len(late))
    assert scorings(store, 7) == audit_before and len(audit_before) == 2


@pytest.mark.parametrize("kill_at", ["commit", "delete"])
def test_a_compaction_killed_half_way_on_s3_and_run_again_loses_and_doubles_nothing(
    s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, kill_at: str
) -> None:
    store = _store(s3_server)
    rng = np.random.default_rng(4)
    for n in range(12):
        store.write(_batch(np.arange(n * 20, n * 20 + 20), CLOSED, rng), "w")
    before = _day(store, "2025-03-09")
    compactor = Compactor(store.lake, rows_per_file=100, row_group_rows=50)
    if kill_at == "commit":
        real_create = store.lake.create_file

        def create(path: str, data: bytes) -> bool:
            if path.endswith(".json"):
                raise Killed(path)
            return real_create(path, data)

        monkeypatch.setattr(store.lake, "create_file", create)
    else:
        real_rm, calls = store.lake.fs.rm, []

        def rm(path: str, *args: object, **kwargs: object) -> None:
            calls.append(path)
            if len(calls) > 4:
                raise Killed(path)
            real_rm(path, *args, **kwargs)

        monkeypatch.setattr(store.lake.fs, "rm", rm)
    with pytest.raises(Killed):
        compactor.compact_day("2025-03-09")
    assert _day(store, "2025-03-09").equals(before)
    monkeypatch.undo()

    compactor.compact_day("2025-03-09")
    assert _day(store, "2025-03-09").equals(before)
    store.lake.fs.invalidate_cache()
    files = list_day(store.lake, f"{store.root}/day=2025-03-09")
    assert files.compact and not files.replaced and not files.uncommitted
