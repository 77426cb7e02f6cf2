"""The capture's journal (serving/journal.py, recovery.py): what a killed worker answered is
recovered at the next start, a record torn by the kill is skipped and counted, a segment whose
batch was already sent is not sent twice, and a live worker's segment is never taken."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import struct
import zlib
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.core.bands import RiskBands
from fraud_detection.core.features import FEATURES
from fraud_detection.serving.batches import Entry
from fraud_detection.serving.capture import Capture, CaptureConfig
from fraud_detection.serving.journal import (
    JournaledAnswer,
    JournaledModel,
    encode,
    read_segment,
    segments,
)

BANDS = RiskBands(0.25, 0.45)
SIZES = [1, 3, 2, 5]  # records per request


def _answer(first_id: int, rows: int) -> JournaledAnswer:
    generator = np.random.default_rng(first_id)
    return JournaledAnswer(
        generator.random((rows, len(FEATURES)), dtype=np.float32),
        np.arange(first_id, first_id + rows, dtype=np.float64),
        generator.random(rows),
        JournaledModel("7", 0.4),
    )


def _capture(tmp_path: Path) -> Capture:
    store = ScoredStore(Lake(str(tmp_path / "lake")))
    return Capture(CaptureConfig(spill_dir=tmp_path / "spill"), store, BANDS)


def _answer_then_die(tmp_path: Path, torn: bool) -> None:
    """A worker answers SIZES, then dies by SIGKILL (mid-write of one more record if ``torn``)."""
    capture = _capture(tmp_path)
    first = 1
    for rows in SIZES:
        capture.record(_answer(first, rows), "/score")
        first += rows
    if torn:
        (segment,) = segments(capture.journal_dir)
        frame = encode(Entry(1, "/score", _answer(first, 4), "r"))
        with open(segment, "ab") as handle:
            handle.write(frame[: len(frame) // 2])
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_a_worker(tmp_path: Path, torn: bool = False) -> None:
    process = multiprocessing.get_context("fork").Process(
        target=_answer_then_die, args=(tmp_path, torn)
    )
    process.start()
    process.join(30)
    assert process.exitcode == -signal.SIGKILL


def _lake_ids(tmp_path: Path) -> list[int]:
    files = sorted((tmp_path / "lake" / "scored").rglob("day=*/*.parquet"))
    return sorted(i for f in files for i in pq.read_table(f)["SK_ID_CURR"].to_pylist())


def test_the_records_of_a_killed_worker_reach_the_lake_at_the_next_start(tmp_path: Path) -> None:
    _kill_a_worker(tmp_path)
    restarted = _capture(tmp_path)
    recovered = restarted.recover()
    restarted.send()
    assert (recovered.segments, recovered.records, recovered.torn) == (1, sum(SIZES), 0)
    assert _lake_ids(tmp_path) == list(range(1, sum(SIZES) + 1))
    assert segments(restarted.journal_dir) == []


def test_a_record_torn_by_the_kill_is_skipped_and_counted_the_rest_recovered(
    tmp_path: Path,
) -> None:
    _kill_a_worker(tmp_path, torn=True)
    restarted = _capture(tmp_path)
    restarted.recover()
    restarted.send()
    assert restarted.stats.recovered == sum(SIZES) and restarted.stats.torn == 1
    assert _lake_ids(tmp_path) == list(range(1, sum(SIZES) + 1))


def test_a_segment_already_sent_when_the_crash_came_is_not_sent_twice(tmp_path: Path) -> None:
    # Given a killed worker's segment, recovered and sent, then found again (a crash came
    # between the send and the removal of the segment)
    _kill_a_worker(tmp_path)
    (segment,) = segments(tmp_path / "spill" / "_journal")
    kept = segment.read_bytes()
    first = _capture(tmp_path)
    first.recover()
    first.send()
    segment.write_bytes(kept)
    # When the next start recovers it again
    second = _capture(tmp_path)
    again = second.recover()
    second.send()
    # Then the same batch (same name, same request ids) meets itself in the lake: no duplicate
    assert again.records == sum(SIZES)
    assert second.stats.sent == 0
    assert _lake_ids(tmp_path) == list(range(1, sum(SIZES) + 1))


def test_a_live_worker_s_segment_is_never_taken_by_another(tmp_path: Path) -> None:
    live = _capture(tmp_path)
    live.record(_answer(1, 3), "/score")
    other = _capture(tmp_path)
    assert other.recover().segments == 0
    assert live.flush() == 3
    live.send()
    assert _lake_ids(tmp_path) == [1, 2, 3]
    assert segments(live.journal_dir) == []  # removed once its batch was in the spill folder


@pytest.mark.parametrize("cut", [1, 7, 20, -1])
def test_a_frame_cut_anywhere_or_with_a_flipped_byte_ends_the_reading_there(cut: int) -> None:
    frames = [encode(Entry(1, "/score", _answer(i * 10, 2), f"r{i}")) for i in range(3)]
    whole = b"".join(frames)
    cut_short = whole[: len(whole) - len(frames[-1]) + cut] if cut > 0 else whole[:-1]
    flipped = bytearray(whole)
    flipped[-3] ^= 0xFF
    for data in (cut_short, bytes(flipped)):
        replayed = read_segment(data)
        assert [e.request_id for e in replayed.entries] == ["r0", "r1"] and replayed.torn == 1
    assert read_segment(whole).torn == 0 and len(read_segment(whole).entries) == 3


def test_a_frame_round_trips_every_field_and_a_frame_of_the_earlier_json_header_still_reads() -> (
    None
):
    answer = _answer(40, 3)
    entry = Entry(1_765_000_000_123_456, "/explain", answer, "req-é")
    (read,) = read_segment(encode(entry)).entries
    assert (read.scored_at_us, read.endpoint, read.request_id) == (entry[0], "/explain", "req-é")
    assert (read.scored.model.version, read.scored.model.threshold) == ("7", 0.4)
    np.testing.assert_array_equal(read.scored.matrix, answer.matrix)
    np.testing.assert_array_equal(read.scored.ids, answer.ids)
    np.testing.assert_array_equal(read.scored.probabilities, answer.probabilities)

    # A segment a worker of the version before wrote (JSON header) is recovered all the same
    header = json.dumps(
        {"t": 5, "e": "/score", "r": "old", "v": "6", "h": 0.3, "shape": [3, len(FEATURES)]}
    ).encode()
    payload = b"".join(
        (
            struct.pack("<I", len(header)),
            header,
            answer.matrix.tobytes(),
            answer.ids.tobytes(),
            answer.probabilities.tobytes(),
        )
    )
    frame = struct.pack("<II", len(payload), zlib.crc32(payload)) + payload
    (old,) = read_segment(frame).entries
    assert (old.scored_at_us, old.endpoint, old.request_id, old.scored.model.version) == (
        5,
        "/score",
        "old",
        "6",
    )
    np.testing.assert_array_equal(old.scored.matrix, answer.matrix)


def test_arrays_of_any_layout_and_dtype_are_written_as_the_frame_s_types() -> None:
    answer = _answer(60, 4)
    strided = JournaledAnswer(
        np.asfortranarray(answer.matrix.astype(np.float64)),  # column order, float64
        np.repeat(answer.ids, 2)[::2],  # a strided view
        answer.probabilities.astype(np.float32),
        answer.model,
    )
    (read,) = read_segment(encode(Entry(1, "/score", strided, "r"))).entries
    np.testing.assert_array_equal(read.scored.matrix, answer.matrix)
    np.testing.assert_array_equal(read.scored.ids, answer.ids)
    np.testing.assert_allclose(read.scored.probabilities, answer.probabilities, rtol=1e-7)


@pytest.mark.parametrize("fsync", [False, True])
def test_a_sealed_segment_holds_each_request_s_frame_in_order(tmp_path: Path, fsync: bool) -> None:
    store = ScoredStore(Lake(str(tmp_path / "lake")))
    config = CaptureConfig(spill_dir=tmp_path / "spill", journal_fsync=fsync)
    capture = Capture(config, store, BANDS)
    for first, rows in ((1, 2), (3, 30), (33, 1)):
        capture.record(_answer(first, rows), "/score")
    segment = capture.journal.take()
    assert segment is not None
    segment.seal()
    (sealed,) = segments(capture.journal_dir)
    data = sealed.read_bytes()
    assert read_segment(data).torn == 0
    assert [e.scored.ids.tolist() for e in read_segment(data).entries] == [
        [1.0, 2.0],
        [float(i) for i in range(3, 33)],
        [33.0],
    ]
