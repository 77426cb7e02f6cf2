"""The capture's journal: every answered request's records appended to a file on local disk
before the response goes out, so that a crash (SIGKILL, out of memory) loses at most the record
being written.

    <spill>/_journal/<writer>-<seq>.seg     one segment per flush, locked (fcntl) by its writer
    <spill>/_journal/<writer>-<seq>.sealed  a whole segment handed over: the capture's own
                                            process makes its batch (off the workers' GIL)

A segment holds the entries of one flush, each a frame: ``length | crc32 | payload``. The append
is one ``os.write`` (in the OS's page cache at once, so it survives the death of the process;
``fsync`` per append only when asked: it also survives the machine's). The segment's lock is
held until the segment is removed, so a live worker's segment is never taken by another; a dead
worker's lock is released by the kernel, and the next start recovers its segment
(:mod:`fraud_detection.serving.recovery`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import struct
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from fraud_detection.serving.batches import Entry

JOURNAL_DIR = "_journal"
SEGMENT_SUFFIX = ".seg"
SEALED_SUFFIX = ".sealed"
_FRAME = struct.Struct("<II")  # payload length, CRC32 of the payload
# A frame's header: a mark, then when, threshold, rows, columns and the lengths of the endpoint,
# request id and version (UTF-8, after the header). Packed, not JSON: a third of the cost on the
# request path, a fifth in the capture process.
_MARK = b"FDJ2"
_HEADER = struct.Struct("<4sqdIIHHH")
_JSON_META = struct.Struct("<I")  # frames written before: the length of a JSON header


class JournaledModel(NamedTuple):
    """The answering model as the journal keeps it: what a captured record names."""

    version: str
    threshold: float


class JournaledAnswer(NamedTuple):
    """A request's answer read back from a journal (the fields a batch is made of). Tuples,
    not frozen dataclasses: the capture process makes one per request it reads."""

    matrix: np.ndarray
    ids: np.ndarray
    probabilities: np.ndarray
    model: JournaledModel


def encode(entry: Entry) -> bytes:
    """One entry as a frame: a packed header and its texts, then the matrix, ids and
    probabilities as raw bytes (joined from the arrays' own buffers: no copy of each first)."""
    scored = entry.scored
    matrix = np.ascontiguousarray(scored.matrix, dtype=np.float32)
    rows, columns = matrix.shape
    texts = (entry.endpoint.encode(), entry.request_id.encode(), scored.model.version.encode())
    header = _HEADER.pack(
        _MARK, entry.scored_at_us, scored.model.threshold, rows, columns, *map(len, texts)
    )
    # An ndarray is a buffer (numpy's stubs do not declare it): joined without a copy first.
    payload = b"".join(
        (  # type: ignore[arg-type]
            header,
            *texts,
            matrix,
            np.ascontiguousarray(scored.ids, dtype=np.float64),
            np.ascontiguousarray(scored.probabilities, dtype=np.float64),
        )
    )
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def _decode(payload: bytes) -> Entry:
    if payload[: len(_MARK)] != _MARK:
        return _decode_json_header(payload)
    _, at_us, threshold, rows, columns, *lengths = _HEADER.unpack_from(payload)
    at = _HEADER.size
    texts = []
    for length in lengths:
        texts.append(payload[at : at + length].decode())
        at += length
    endpoint, request_id, version = texts
    answer = _arrays(payload, at, rows, columns, JournaledModel(version, threshold))
    return Entry(at_us, endpoint, answer, request_id)


def _decode_json_header(payload: bytes) -> Entry:
    (size,) = _JSON_META.unpack_from(payload)
    header = json.loads(payload[_JSON_META.size : _JSON_META.size + size])
    rows, columns = header["shape"]
    model = JournaledModel(str(header["v"]), float(header["h"]))
    answer = _arrays(payload, _JSON_META.size + size, rows, columns, model)
    return Entry(int(header["t"]), str(header["e"]), answer, str(header["r"]))


def _arrays(
    payload: bytes, at: int, rows: int, columns: int, model: JournaledModel
) -> JournaledAnswer:
    matrix = np.frombuffer(payload, np.float32, rows * columns, at).reshape(rows, columns)
    at += matrix.nbytes
    ids = np.frombuffer(payload, np.float64, rows, at)
    probabilities = np.frombuffer(payload, np.float64, rows, at + ids.nbytes)
    return JournaledAnswer(matrix, ids, probabilities, model)


@dataclass(frozen=True)
class Replayed:
    """What a segment held: its whole entries, and how many frames at its end were torn (a
    crash mid-append: too short, or a CRC that does not match)."""

    entries: list[Entry]
    torn: int


def read_segment(data: bytes) -> Replayed:
    """The entries of a segment's bytes; reading stops at the first torn frame (nothing after
    it can be trusted to start a frame)."""
    entries: list[Entry] = []
    at = 0
    while at < len(data):
        if len(data) - at < _FRAME.size:
            return Replayed(entries, 1)
        length, crc = _FRAME.unpack_from(data, at)
        payload = data[at + _FRAME.size : at + _FRAME.size + length]
        if len(payload) < length or zlib.crc32(payload) != crc:
            return Replayed(entries, 1)
        try:
            entries.append(_decode(payload))
        except (ValueError, KeyError, TypeError, struct.error, UnicodeDecodeError):
            return Replayed(entries, 1)  # a whole frame of nonsense: as torn as a short one
        at += _FRAME.size + length
    return Replayed(entries, 0)


class Segment:
    """A journal segment being written: created under a temporary name, locked, then named
    ``<name>.seg`` (so no other worker ever sees it unlocked while it is alive)."""

    def __init__(self, folder: Path, name: str, fsync: bool = False) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.path = folder / f"{name}{SEGMENT_SUFFIX}"
        self.fsync = fsync
        self.records = 0
        temp = folder / f".{name}.{uuid.uuid4().hex}.tmp"
        self._fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(temp, self.path)

    def append(self, frame: bytes, records: int) -> None:
        written = os.write(self._fd, frame)  # whole, but for a full disk or a signal
        while written < len(frame):
            written += os.write(self._fd, memoryview(frame)[written:])
        if self.fsync:
            os.fsync(self._fd)
        self.records += records

    def seal(self) -> None:
        """Hand the whole segment over: renamed ``<name>.sealed`` while locked, then unlocked,
        so a reader never takes a segment still being written."""
        try:
            os.replace(self.path, self.path.with_suffix(SEALED_SUFFIX))
        finally:
            os.close(self._fd)

    def remove(self) -> None:
        """Delete the segment (its batch is safe elsewhere), then let go of its lock."""
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self._fd)


class JournalWriter:
    """A writer's segments, one after the other: the next is made at the first append after
    the current one was taken (by a flush)."""

    def __init__(self, folder: Path, writer: str, fsync: bool = False) -> None:
        self.folder = folder
        self.writer = writer
        self.fsync = fsync
        self._current: Segment | None = None
        self._made = 0

    def append(self, entry: Entry, rows: int) -> Exception | None:
        """Journal one entry → the error that stopped it (the caller keeps the entry itself)."""
        try:
            if self._current is None:
                self._made += 1
                name = f"{self.writer}-{self._made:06d}"
                self._current = Segment(self.folder, name, self.fsync)
            self._current.append(encode(entry), rows)
        except Exception as error:
            return error
        return None

    def take(self) -> Segment | None:
        """The segment written so far (to seal or remove); the next append starts another."""
        segment, self._current = self._current, None
        return segment


def segments(folder: Path) -> list[Path]:
    """The journal's segments, sealed or not, oldest first."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        if path.suffix in (SEGMENT_SUFFIX, SEALED_SUFFIX):
            with contextlib.suppress(FileNotFoundError):
                found.append((path.stat().st_mtime, path.name, path))
    return [path for *_, path in sorted(found)]


def is_sealed(path: Path) -> bool:
    """Handed over whole by a live writer (else left by one that died)."""
    return path.suffix == SEALED_SUFFIX
