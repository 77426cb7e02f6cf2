"""The capture's own process (service/capture_process.py, service/capture.py's
``CaptureProcess``), started for real: the worker's capture only seals its journal segments,
the process batches and sends them, is started again when it dies, and sends what is left when
the worker closes its pipe."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.config import Settings
from fraud_detection.core.bands import RiskBands
from fraud_detection.core.training import TrainedModel
from fraud_detection.serving.model import LoadedModel, ModelHolder
from service.capture import CaptureProcess, build_capture

RECORDS = 40


def _wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.1)


def _records_in_lake(lake: Path) -> int:
    store = ScoredStore(Lake(str(lake)))
    return 0 if not store.days() else store.read(columns=["SK_ID_CURR"]).num_rows


def test_the_capture_process_sends_what_the_worker_seals_survives_a_kill_and_drains_at_close(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    trained: TrainedModel,
    month_frame: pd.DataFrame,
) -> None:
    # Given a worker's capture with its own process (which looks for sealed segments often)
    monkeypatch.setenv("FRAUD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRAUD_CAPTURE_FLUSH_INTERVAL_S", "600")
    monkeypatch.setenv("FRAUD_CAPTURE_RETRY_INTERVAL_S", "0.2")
    settings = Settings()
    process = CaptureProcess()
    capture = build_capture(settings, process).start()
    holder = ModelHolder(RiskBands(0.25, 0.45))
    holder.swap(LoadedModel(trained.booster.copy(), "7", trained.threshold, "mlflow"))
    records = month_frame.head(RECORDS * 3).to_dict(orient="records")
    lake = tmp_path / "lake"
    try:
        # When the worker records and flushes, the process sends it (the worker sends nothing)
        capture.record(holder.score(records[:RECORDS]), "/score")
        capture.flush()
        _wait_until(lambda: _records_in_lake(lake) == RECORDS)
        assert capture.stats.sent == 0
        assert not [t for t in threading.enumerate() if t.name == "capture-sender"]

        # When the process is killed, the worker's check starts it again (counted, logged)
        assert process.child is not None
        os.kill(process.child.pid, signal.SIGKILL)
        process.child.wait(10)
        with pytest.raises(RuntimeError, match="exited with status -9; started again"):
            process.ensure_running()
        capture.record(holder.score(records[RECORDS : 2 * RECORDS]), "/score")
        capture.flush()
        _wait_until(lambda: _records_in_lake(lake) == 2 * RECORDS)
        capture.record(holder.score(records[2 * RECORDS :]), "/predict")
    finally:
        # Then a close seals the rest and the process sends it before it exits
        capture.close(60.0)
    assert _records_in_lake(lake) == 3 * RECORDS
    assert process.child is not None and process.child.returncode == 0
    assert list((tmp_path / "capture-spill" / "_journal").iterdir()) == []
