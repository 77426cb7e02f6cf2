"""The capture's sender and flusher keep going on any error (serving/sender.py, capture.py):
each error counted by kind and retried; a spill file that is not a readable batch is set aside
under _unreadable/, counted, and never copied into the lake."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.core.bands import RiskBands
from fraud_detection.core.features import FEATURES
from fraud_detection.serving.capture import Capture, CaptureConfig
from fraud_detection.serving.journal import JournaledAnswer, JournaledModel
from fraud_detection.serving.outbox import Outbox

BANDS = RiskBands(0.25, 0.45)


def _answer(first_id: int, rows: int) -> JournaledAnswer:
    return JournaledAnswer(
        np.zeros((rows, len(FEATURES)), dtype=np.float32),
        np.arange(first_id, first_id + rows, dtype=np.float64),
        np.full(rows, 0.1),
        JournaledModel("7", 0.4),
    )


def _capture(tmp_path: Path, **changes: Any) -> Capture:
    config = CaptureConfig(
        spill_dir=tmp_path / "spill", flush_interval_s=0.05, retry_interval_s=0.05
    )
    store = ScoredStore(Lake(str(tmp_path / "lake")))
    return Capture(replace(config, **changes), store, BANDS)


def _lake_ids(tmp_path: Path) -> list[int]:
    files = sorted((tmp_path / "lake" / "scored").rglob("day=*/*.parquet"))
    return sorted(i for f in files for i in pq.read_table(f)["SK_ID_CURR"].to_pylist())


def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.02)


def test_the_sender_survives_unexpected_errors_counts_them_and_sends_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an outbox whose first three passes fail as no lake error would (a disk error)
    real_send = Outbox.send
    failures = {"left": 3}

    def failing_send(self: Outbox, *args: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise OSError(5, "Input/output error")
        return real_send(self, *args)

    monkeypatch.setattr(Outbox, "send", failing_send)
    capture = _capture(tmp_path).start()
    # When requests are answered meanwhile
    capture.record(_answer(1, 2), "/score")
    capture.record(_answer(3, 1), "/score")
    # Then the sender lives on: every error counted, every record in the lake
    _wait_until(lambda: _lake_ids(tmp_path) == [1, 2, 3])
    capture.close()
    assert capture.stats.errors["send"] == 3 and capture.stats.sent == 3


def test_the_flusher_survives_an_error_and_flushes_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a flusher that writes at 2 records, whose first batch fails to be made
    capture = _capture(tmp_path, flush_records=2, flush_interval_s=60.0)
    real_drain = capture.tally.drain
    failures = {"left": 1}

    def failing_drain() -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise MemoryError("no room")
        return real_drain()

    monkeypatch.setattr(capture.tally, "drain", failing_drain)
    capture.start()
    capture.record(_answer(1, 2), "/score")
    _wait_until(lambda: capture.stats.errors["flush"] == 1)
    # Then the flusher lives on: the next batch reaches the lake, the failed one is counted lost
    capture.record(_answer(3, 2), "/score")
    _wait_until(lambda: _lake_ids(tmp_path) == [3, 4])
    capture.close()
    assert capture.stats.dropped["flush_failed"] == 2


def test_a_junk_file_in_the_spill_folder_is_set_aside_never_sent_and_counted(
    tmp_path: Path,
) -> None:
    # Given a file with a batch file's name that is not Parquet, in the spill folder
    junk = tmp_path / "spill" / "day=2026-01-02" / "host-1-abc-junk.parquet"
    junk.parent.mkdir(parents=True)
    junk.write_bytes(b"this is not a parquet file")
    capture = _capture(tmp_path).start()
    # When traffic flows
    for first in range(1, 40, 3):
        capture.record(_answer(first, 3), "/predict")
        time.sleep(0.01)
    # Then every record reaches the lake, the junk does not, and it waits under _unreadable/
    _wait_until(lambda: _lake_ids(tmp_path) == list(range(1, 40)))
    capture.close()
    assert not junk.exists()
    assert (tmp_path / "spill" / "_unreadable" / "day=2026-01-02" / junk.name).exists()
    assert not list((tmp_path / "lake" / "scored").rglob(junk.name))
    assert capture.stats.quarantined == 1 and capture.stats.errors["unreadable"] == 1


def test_the_lake_is_retried_with_growing_waits_up_to_the_maximum(tmp_path: Path) -> None:
    capture = _capture(tmp_path, retry_interval_s=1.0, max_backoff_s=5.0)
    waits = [capture.sender.backoff.failed() for _ in range(5)]
    assert waits == [1.0, 2.0, 4.0, 5.0, 5.0]
    capture.sender.backoff.succeeded()
    assert capture.sender.backoff.failed() == 1.0
