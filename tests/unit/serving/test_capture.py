"""The capture of served scores (serving/capture.py, outbox.py, batches.py) on a lake folder,
with a lake stand-in that fails on demand: batching, the spill folder, the retry exactly once,
the bound of the buffer and every drop counted."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.monitoring import RequestTallies
from fraud_detection.adapters.scored import BatchFile, ScoredStore
from fraud_detection.core.bands import RiskBands
from fraud_detection.core.features import FEATURES
from fraud_detection.core.monitoring import Rejections, Window
from fraud_detection.core.records import matrix_and_ids, matrix_from_records
from fraud_detection.core.training import TrainedModel
from fraud_detection.serving.batches import Entry, scored_table
from fraud_detection.serving.capture import BUFFER_FULL, Capture, CaptureConfig
from fraud_detection.serving.capture_config import SPILL_FAILED, Unobserved
from fraud_detection.serving.model import LoadedModel, ModelHolder, Scored

BANDS = RiskBands(0.25, 0.45)


class FlakyLake:
    """The lake's ``scored/`` (a real ScoredStore on a folder) that refuses writes while ``down``,
    or, with ``lose_answer``, writes a file and then fails as if the answer had been lost."""

    def __init__(self, store: ScoredStore) -> None:
        self.store = store
        self.down = False
        self.lose_answer = False
        self.puts = 0

    def batch_files(self, table: pa.Table, name: str) -> list[BatchFile]:
        return self.store.batch_files(table, name)

    def tally_files(self, table: pa.Table, name: str) -> list[BatchFile]:
        return self.store.tally_files(table, name)

    def accepts(self, relative: str) -> bool:
        return self.store.accepts(relative)

    def put(self, relative: str, data: bytes) -> bool:
        self.puts += 1
        if self.down:
            raise ConnectionError("lake unreachable")
        created = self.store.put(relative, data)
        if self.lose_answer:
            self.lose_answer = False
            raise TimeoutError("the answer was lost")
        return created


class Counts(Unobserved):
    """What the capture reported, as the service's Prometheus counters would see it."""

    def __init__(self) -> None:
        self.records_sent = 0
        self.records_dropped: Counter[str] = Counter()
        self.failures = 0

    def sent(self, records: int) -> None:
        self.records_sent += records

    def dropped(self, records: int, reason: str) -> None:
        self.records_dropped[reason] += records

    def send_failed(self) -> None:
        self.failures += 1


@pytest.fixture
def store(tmp_path: Path) -> ScoredStore:
    return ScoredStore(Lake(str(tmp_path / "lake")))


@pytest.fixture
def holder(trained: TrainedModel) -> ModelHolder:
    holder = ModelHolder(BANDS)
    holder.swap(LoadedModel(trained.booster.copy(), "7", trained.threshold, "mlflow"))
    return holder


def _config(tmp_path: Path, **changes: Any) -> CaptureConfig:
    return replace(CaptureConfig(spill_dir=tmp_path / "spill"), **changes)


def _records(frame: pd.DataFrame, start: int, count: int) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(
        frame.iloc[start : start + count].to_json(orient="records")
    )
    return records


def _requests(holder: ModelHolder, frame: pd.DataFrame, sizes: list[int]) -> list[Scored]:
    start, answered = 0, []
    for size in sizes:
        answered.append(holder.score(_records(frame, start, size)))
        start += size
    return answered


def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.02)


def _today() -> date:
    return datetime.now(UTC).date()  # the partitions are UTC days


def _ids_in_lake(store: ScoredStore) -> list[int]:
    return sorted(store.read(columns=["SK_ID_CURR"])["SK_ID_CURR"].to_pylist())


def test_matrix_and_ids_give_the_model_input_and_each_record_s_id(
    month_frame: pd.DataFrame,
) -> None:
    records = _records(month_frame, 0, 5)
    matrix, ids = matrix_and_ids(records)
    np.testing.assert_array_equal(matrix, matrix_from_records(records))
    assert ids.tolist() == month_frame["SK_ID_CURR"].head(5).astype(float).tolist()
    # a record without an id, spelled differently (the checked path): its id is NaN
    del records[1]["SK_ID_CURR"]
    matrix, ids = matrix_and_ids(records)
    np.testing.assert_array_equal(matrix, matrix_from_records(records))
    assert np.isnan(ids[1]) and ids[0] == records[0]["SK_ID_CURR"]


def test_a_flush_writes_each_record_as_the_model_saw_and_answered_it(
    tmp_path: Path, store: ScoredStore, holder: ModelHolder, month_frame: pd.DataFrame
) -> None:
    capture = Capture(_config(tmp_path, writer="w"), store, BANDS)
    requests = _requests(holder, month_frame, [3, 1, 6])
    records = _records(month_frame, 0, 10)
    del records[4]["SK_ID_CURR"]  # the second request (one record) carried no id
    requests[1] = holder.score([records[3], records[4]])
    for scored in requests:
        capture.record(scored, "/score")

    assert capture.flush() == 11 and capture.send().rows == 11
    table = store.read()
    assert table.num_rows == 11 and capture.stats.sent == 11
    assert store.days() == [_today().isoformat()]
    inputs = np.column_stack([table[name].to_numpy() for name in FEATURES])
    expected = np.concatenate([s.matrix for s in requests])
    np.testing.assert_array_equal(inputs, expected.astype(np.float32))
    probabilities = np.concatenate([s.probabilities for s in requests])
    assert table["probability"].to_pylist() == probabilities.tolist()  # unrounded
    assert table["risk_level"].to_pylist() == [BANDS.level(p) for p in probabilities.tolist()]
    threshold = requests[0].model.threshold
    assert table["is_fraud"].to_pylist() == (probabilities >= threshold).tolist()
    assert set(table["model_version"].to_pylist()) == {"7"}
    assert set(table["endpoint"].to_pylist()) == {"/score"}
    ids = table["SK_ID_CURR"].to_pylist()
    assert ids[4] is None and ids[3] == records[3]["SK_ID_CURR"]
    # one request id per request, shared by its records
    per_request = Counter(table["request_id"].to_pylist())
    assert sorted(per_request.values()) == [2, 3, 6]


def test_request_ids_are_unique_across_workers_and_shaped_like_a_uuid_s_hex(
    tmp_path: Path, store: ScoredStore, holder: ModelHolder, month_frame: pd.DataFrame
) -> None:
    requests = _requests(holder, month_frame, [1] * 50)
    for writer in ("w1", "w2"):  # two workers, one lake
        capture = Capture(_config(tmp_path / writer, writer=writer), store, BANDS)
        for scored in requests:
            capture.record(scored, "/score")
        capture.flush()
        capture.send()
    ids = store.read(columns=["request_id"])["request_id"].to_pylist()
    assert len(ids) == len(set(ids)) == 100
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_a_batch_across_midnight_utc_is_one_file_per_day_with_its_own_records(
    store: ScoredStore, holder: ModelHolder, month_frame: pd.DataFrame
) -> None:
    requests = _requests(holder, month_frame, [2, 3, 1])
    table = scored_table([Entry(0, "/score", scored) for scored in requests], BANDS)
    midnight = int(datetime(2025, 4, 1, tzinfo=UTC).timestamp()) * 1_000_000
    before_midnight = midnight - 1  # the last microsecond of 31 March
    times = [before_midnight] * 2 + [before_midnight + 1] * 3 + [before_midnight - 86_400_000_000]
    table = table.set_column(
        table.schema.get_field_index("scored_at"),
        "scored_at",
        pa.array(times, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
    )

    files = store.batch_files(table, "w-1")

    assert [(f.relative, f.rows) for f in files] == [
        ("day=2025-03-30/w-1.parquet", 1),
        ("day=2025-03-31/w-1.parquet", 2),
        ("day=2025-04-01/w-1.parquet", 3),
    ]


def test_records_keep_the_version_that_answered_them_across_a_swap(
    tmp_path: Path,
    store: ScoredStore,
    holder: ModelHolder,
    trained: TrainedModel,
    month_frame: pd.DataFrame,
) -> None:
    capture = Capture(_config(tmp_path, writer="w"), store, BANDS)
    before = holder.score(_records(month_frame, 0, 4))
    holder.swap(LoadedModel(trained.booster.copy(), "8", 0.9, "mlflow"))
    after = holder.score(_records(month_frame, 4, 2))
    capture.record(after, "/predict")
    capture.record(before, "/predict")  # answered earlier, captured later: still version 7
    capture.flush()
    capture.send()
    table = store.read(columns=["SK_ID_CURR", "model_version", "threshold", "is_fraud"])
    by_id = {row["SK_ID_CURR"]: row for row in table.to_pylist()}
    for scored, version, threshold in ((before, "7", trained.threshold), (after, "8", 0.9)):
        for i, application in enumerate(scored.ids.astype(int).tolist()):
            row = by_id[application]
            assert (row["model_version"], row["threshold"]) == (version, threshold)
            assert row["is_fraud"] == bool(scored.probabilities[i] >= threshold)


@pytest.mark.parametrize("by", ["records", "interval"])
def test_the_flusher_writes_at_n_records_or_after_t_seconds(
    tmp_path: Path, store: ScoredStore, holder: ModelHolder, month_frame: pd.DataFrame, by: str
) -> None:
    # flush at 5 records (the interval too long to matter), or every 0.2 s (the count too high)
    flush = {"flush_records": 5, "flush_interval_s": 600.0}
    if by == "interval":
        flush = {"flush_records": 1_000, "flush_interval_s": 0.2}
    capture = Capture(_config(tmp_path, retry_interval_s=600.0, **flush), store, BANDS).start()
    try:
        first, second = _requests(holder, month_frame, [2, 3])
        capture.record(first, "/score")
        if by == "interval":
            _wait_until(lambda: capture.stats.sent == 2)  # by the clock alone
        else:
            time.sleep(0.3)
            assert capture.stats.sent == 0  # 2 of 5 records: nothing due yet
        capture.record(second, "/score")
        _wait_until(lambda: capture.stats.sent == 5)
        assert len(_ids_in_lake(store)) == 5
    finally:
        assert capture.close() == 0


def test_a_lake_outage_spills_and_the_retry_sends_each_batch_once(
    tmp_path: Path, store: ScoredStore, holder: ModelHolder, month_frame: pd.DataFrame
) -> None:
    lake, counts = FlakyLake(store), Counts()
    capture = Capture(_config(tmp_path, retry_interval_s=0.05), lake, BANDS, observer=counts)
    requests = _requests(holder, month_frame, [4, 4, 4])
    lake.down = True
    for scored in requests[:2]:
        capture.record(scored, "/predict")
        capture.flush()
        assert capture.send().error is not None  # the batch waits in the spill folder
    assert capture.stats.spilled == 8 and capture.stats.sent == 0
    assert counts.failures == 2 and len(capture.outbox.pending()) == 2
    assert store.days() == []

    lake.down = False
    capture.record(requests[2], "/predict")
    capture.flush()
    assert capture.send().rows == 12 and capture.outbox.pending() == []
    expected = sorted(int(i) for s in requests for i in s.ids)
    assert _ids_in_lake(store) == expected  # each record once
    assert counts.records_sent == 12 and sum(counts.records_dropped.values()) == 0
    assert capture.send().files == 0  # nothing is sent twice


def test_a_send_whose_answer_was_lost_is_repeated_without_a_duplicate(
    tmp_path: Path, store: ScoredStore, holder: ModelHolder, month_frame: pd.DataFrame
) -> None:
    # The lake wrote the file but the sender never heard (a crash between the write and the
    # removal of the spill file is the same): the spill file stays and is sent again.
    lake = FlakyLake(store)
    capture = Capture(_config(tmp_path), lake, BANDS)
    capture.record(_requests(holder, month_frame, [5])[0], "/score")
    capture.flush()
    lake.lose_answer = True
    assert capture.send().error is not None and len(capture.outbox.pending()) == 1
    assert len(_ids_in_lake(store)) == 5  # the lake has it already

    # a new process on the same spill folder sends what is left: same lake name, no new file
    again = Capture(_config(tmp_path), lake, BANDS)
    result = again.send()
    assert result.error is None and result.rows == 0 and again.outbox.pending() == []
    assert len(_ids_in_lake(store)) == 5
    assert len(list(Path(store.root).rglob("*.parquet"))) == 1


def test_a_full_buffer_drops_counts_and_never_blocks(
    tmp_path: Path,
    store: ScoredStore,
    holder: ModelHolder,
    month_frame: pd.DataFrame,
    caplog: pytest.LogCaptureFixture,
) -> None:
    counts = Counts()
    capture = Capture(_config(tmp_path, max_buffered_records=10), store, BANDS, observer=counts)
    requests = _requests(holder, month_frame, [4, 4, 4, 2])
    started = time.perf_counter()
    for scored in requests:
        capture.record(scored, "/score")
    assert time.perf_counter() - started < 0.5  # no flusher running: still no wait
    assert counts.records_dropped == Counter({BUFFER_FULL: 4}) and capture.stats.buffered == 10
    with caplog.at_level(logging.WARNING, logger="fraud_detection.serving"):
        assert capture.flush() == 10
    assert "4 records dropped" in caplog.text
    ids = [str(int(i)) for s in requests for i in s.ids]
    assert not any(i in caplog.text for i in ids)  # counts only, never a record
    capture.send()
    assert len(_ids_in_lake(store)) == 10


def test_without_a_spill_folder_a_batch_goes_straight_to_the_lake_or_is_counted_dropped(
    tmp_path: Path, store: ScoredStore, holder: ModelHolder, month_frame: pd.DataFrame
) -> None:
    spill = tmp_path / "spill"
    spill.write_text("a file where the folder should be")  # the spill folder cannot be made
    lake, counts = FlakyLake(store), Counts()
    capture = Capture(_config(tmp_path), lake, BANDS, observer=counts)
    first, second = _requests(holder, month_frame, [3, 2])
    capture.record(first, "/predict")
    assert capture.flush() == 3 and counts.records_sent == 3  # written directly
    lake.down = True
    capture.record(second, "/predict")
    assert capture.flush() == 0
    assert (
        counts.records_dropped == Counter({SPILL_FAILED: 2})
        and capture.stats.dropped[SPILL_FAILED] == 2
    )
    assert len(_ids_in_lake(store)) == 3


def test_sampling_keeps_a_share_of_requests_and_drops_nothing(
    tmp_path: Path, store: ScoredStore, holder: ModelHolder, month_frame: pd.DataFrame
) -> None:
    counts = Counts()
    capture = Capture(_config(tmp_path, sample_rate=0.0), store, BANDS, observer=counts)
    for scored in _requests(holder, month_frame, [3, 3]):
        capture.record(scored, "/score")
    assert capture.flush() == 0 and capture.stats.buffered == 0
    assert sum(counts.records_dropped.values()) == 0
    half = Capture(_config(tmp_path, sample_rate=0.5), store, BANDS)
    one = _requests(holder, month_frame, [1])[0]
    for _ in range(400):
        half.record(one, "/score")
    assert 120 < half.stats.buffered < 280  # 200 expected; 1e-9 odds of leaving this range


def test_close_writes_what_is_buffered_and_a_restart_sends_what_waited(
    tmp_path: Path, store: ScoredStore, holder: ModelHolder, month_frame: pd.DataFrame
) -> None:
    lake = FlakyLake(store)
    config = _config(tmp_path, flush_interval_s=60.0, retry_interval_s=60.0)
    capture = Capture(config, lake, BANDS).start()
    first, second = _requests(holder, month_frame, [3, 2])
    capture.record(first, "/predict")
    assert capture.close(timeout_s=5.0) == 0  # a graceful stop: in the lake
    assert len(_ids_in_lake(store)) == 3

    lake.down = True  # a stop while the lake is away: the batch waits in the spill folder
    capture = Capture(config, lake, BANDS).start()
    capture.record(second, "/predict")
    assert capture.close(timeout_s=5.0) == 1
    lake.down = False
    restarted = Capture(config, lake, BANDS).start()  # sends what waited, at once
    try:
        _wait_until(lambda: restarted.outbox.pending() == [])
        assert len(_ids_in_lake(store)) == 5
    finally:
        restarted.close()


def test_request_tallies_reach_the_lake_where_the_monitor_reads_them(
    tmp_path: Path, store: ScoredStore
) -> None:
    capture = Capture(_config(tmp_path), store, BANDS)
    for endpoint, status, times in (("/predict", 200, 6), ("/predict", 422, 3), ("/score", 413, 1)):
        for _ in range(times):
            capture.tally.count(endpoint, status)
    assert capture.flush() == 0  # no record: a tally holds counts only
    capture.send()
    today = _today()
    found = RequestTallies(store.lake).rejections(Window(today, today))
    assert found == Rejections(4, 10)
    assert store.days() == []  # tallies are not captured scores
    capture.flush()
    capture.send()  # an empty window writes nothing
    assert len(list((Path(store.root) / "_requests").rglob("*.parquet"))) == 1


def test_retention_removes_old_request_tallies_with_old_scores(
    tmp_path: Path, store: ScoredStore
) -> None:
    capture = Capture(_config(tmp_path), store, BANDS)
    capture.tally.count("/predict", 200)
    capture.flush()
    capture.send()
    today = _today()
    assert store.delete_before(today) == []
    assert store.delete_before(date.fromordinal(today.toordinal() + 1)) == [today.isoformat()]
    assert RequestTallies(store.lake).rejections(Window(today, today)) is None


class InProcessCompanion:
    """The capture process's part played by a second capture in this process: it batches and
    sends the segments the worker's capture seals (the service runs it as a process of its own:
    tests/unit/service/test_capture_process.py)."""

    def __init__(self, capture: Capture) -> None:
        self.capture = capture
        self.restarts = 0

    def start(self) -> None:
        self.capture.start()

    def ensure_running(self) -> None:
        pass

    def stop(self, timeout_s: float) -> None:
        self.capture.close(timeout_s)


def test_with_a_companion_the_worker_only_seals_and_the_companion_sends_each_record_once(
    tmp_path: Path, store: ScoredStore, holder: ModelHolder, month_frame: pd.DataFrame
) -> None:
    # Given a worker's capture that hands its segments over, and its companion (not started:
    # each step is driven here)
    config = _config(tmp_path, flush_interval_s=600.0, retry_interval_s=600.0)
    companion = InProcessCompanion(Capture(replace(config, writer="companion"), store, BANDS))
    worker = Capture(replace(config, writer="worker"), store, BANDS, companion=companion)
    requests = _requests(holder, month_frame, [3, 1, 6, 2])

    # When the worker records four requests and flushes twice
    for scored in requests[:2]:
        worker.record(scored, "/score")
    assert worker.flush() == 0  # nothing batched in the worker: its segment is sealed
    for scored in requests[2:]:
        worker.record(scored, "/score")
    worker.flush()

    # Then nothing is in memory, two sealed segments wait, nothing reached the lake yet
    sealed = sorted(p.name for p in (tmp_path / "spill" / "_journal").iterdir())
    assert sealed == ["worker-000001.sealed", "worker-000002.sealed"]
    assert worker.waiting_files == 2 and store.days() == []
    # And the companion batches them (counted as spilled, not as recovered) and sends them
    made = companion.capture.recover()
    assert (made.sealed_records, made.segments, made.records) == (12, 0, 0)
    assert companion.capture.send().rows == 12
    assert _ids_in_lake(store) == sorted(np.concatenate([s.ids for s in requests]).astype(int))
    assert companion.capture.stats.spilled == 12 and companion.capture.stats.recovered == 0
    assert worker.waiting_files == 0 and list((tmp_path / "spill" / "_journal").iterdir()) == []
    # the batch is named after the segment: made again after a crash, it is the same file
    assert sorted(p.name for p in (tmp_path / "lake" / "scored").rglob("*.parquet")) == [
        "worker-000001.parquet",
        "worker-000002.parquet",
    ]


def test_with_a_companion_a_closing_worker_seals_and_its_companion_sends_the_rest(
    tmp_path: Path, store: ScoredStore, holder: ModelHolder, month_frame: pd.DataFrame
) -> None:
    config = _config(tmp_path, flush_interval_s=600.0, retry_interval_s=600.0)
    companion = InProcessCompanion(Capture(replace(config, writer="companion"), store, BANDS))
    worker = Capture(replace(config, writer="worker"), store, BANDS, companion=companion).start()
    requests = _requests(holder, month_frame, [5, 4])
    for scored in requests:
        worker.record(scored, "/predict")

    assert worker.close(10.0) == 0  # the companion sent everything before its stop returned
    assert len(_ids_in_lake(store)) == 9 and companion.capture.stats.sent == 9
    assert worker.stats.buffered == 9 and worker.stats.dropped == Counter()


def test_with_a_companion_a_request_the_journal_refused_is_batched_by_the_worker(
    tmp_path: Path, store: ScoredStore, holder: ModelHolder, month_frame: pd.DataFrame
) -> None:
    # Given a journal folder that cannot be created (a file stands in its place)
    config = _config(tmp_path, flush_interval_s=600.0, retry_interval_s=600.0)
    (tmp_path / "spill").mkdir()
    (tmp_path / "spill" / "_journal").write_text("not a folder")
    companion = InProcessCompanion(Capture(replace(config, writer="companion"), store, BANDS))
    worker = Capture(replace(config, writer="worker"), store, BANDS, companion=companion)
    (scored,) = _requests(holder, month_frame, [4])

    worker.record(scored, "/score")

    # Then the worker kept it in memory and batched it itself: not lost, counted as an error
    assert worker.stats.errors["journal_write"] == 1
    assert worker.flush() == 4 and worker.send().rows == 4
    assert len(_ids_in_lake(store)) == 4


def test_a_batch_file_is_snappy_with_dictionaries_only_for_its_text_columns(
    store: ScoredStore, holder: ModelHolder, month_frame: pd.DataFrame
) -> None:
    import pyarrow.parquet as pq

    table = scored_table(
        [Entry(0, "/score", s) for s in _requests(holder, month_frame, [50])], BANDS
    )
    (file,) = store.batch_files(table, "w-1")
    metadata = pq.read_metadata(pa.BufferReader(file.data)).row_group(0)
    chunks = {
        metadata.column(i).path_in_schema: metadata.column(i) for i in range(table.num_columns)
    }
    assert {chunk.compression for chunk in chunks.values()} == {"SNAPPY"}
    with_dictionary = {name for name, chunk in chunks.items() if chunk.has_dictionary_page}
    assert with_dictionary == {"request_id", "risk_level", "model_version", "endpoint"}
    assert pq.read_table(pa.BufferReader(file.data)).equals(table)
