"""A batch file's way into the spill folder (serving/spill.py): the folder, else the lake, else
dropped and counted."""

from __future__ import annotations

import logging
from pathlib import Path

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored import BatchFile, ScoredStore
from fraud_detection.serving.capture_config import SPILL_FAILED, SPILL_WRITE
from fraud_detection.serving.capture_counts import CaptureCounts
from fraud_detection.serving.outbox import Outbox
from fraud_detection.serving.spill import SpillWriter


class RefusingLake(ScoredStore):
    def put(self, relative: str, data: bytes) -> bool:
        raise ConnectionError("lake unreachable")


def _file() -> BatchFile:
    return BatchFile("day=2026-12-07/w-1.parquet", b"PAR1 bytes of a batch", 3)


def _writer(tmp_path: Path, spill: Path, store: type[ScoredStore] = ScoredStore) -> SpillWriter:
    counts = CaptureCounts(logging.getLogger("test"))
    return SpillWriter(Outbox(spill), store(Lake(str(tmp_path / "lake"))), counts)


def test_a_batch_goes_to_the_spill_folder_and_is_counted_as_spilled(tmp_path: Path) -> None:
    writer = _writer(tmp_path, tmp_path / "spill")
    assert writer.write(_file()) == 3
    assert (tmp_path / "spill" / "day=2026-12-07" / "w-1.parquet").read_bytes() == _file().data
    assert writer.counts.stats.spilled == 3 and writer.counts.stats.sent == 0


def test_a_refusing_spill_folder_sends_the_batch_straight_to_the_lake(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a file where the spill folder should be")
    writer = _writer(tmp_path, tmp_path / "file")
    assert writer.write(_file()) == 3
    assert writer.counts.stats.sent == 3
    assert (tmp_path / "lake" / "scored" / "day=2026-12-07" / "w-1.parquet").exists()


def test_neither_folder_nor_lake_drops_the_records_and_counts_them(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a file where the spill folder should be")
    writer = _writer(tmp_path, tmp_path / "file", RefusingLake)
    assert writer.write(_file()) == 0
    stats = writer.counts.stats
    assert stats.dropped[SPILL_FAILED] == 3 and stats.errors[SPILL_WRITE] == 1


def test_a_request_tally_counts_no_records(tmp_path: Path) -> None:
    writer = _writer(tmp_path, tmp_path / "spill")
    assert writer.write(BatchFile("_requests/day=2026-12-07/w-1.parquet", b"x", 2)) == 0
    assert writer.counts.stats.spilled == 0
