"""The capture's spill folder: a local outbox that every batch passes through on its way to the
lake, and where it waits while the lake cannot be reached.

A batch file sits at the path it will have under the lake's ``scored/``
(``day=2025-03-14/<writer>-<uuid>.parquet``), in the very bytes it will have there. Sending it
is: read it, create that lake file if absent, then delete it here. So the lake name is derived
from the spill file and nothing else, and a send interrupted after the lake write (a crash, a
lost answer) is repeated harmlessly: the lake file is already there, the create is a no-op, the
spill file goes. Each record reaches the lake exactly once, whichever process sends it (all
workers share the folder; a restarted service sends what an earlier one left).
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

logger = logging.getLogger("fraud_detection.serving")

UNREADABLE_DIR = "_unreadable"  # spill files that are not readable batches: never sent
_NOT_OUTGOING = {UNREADABLE_DIR, "_journal"}
TEMP_SUFFIX = ".tmp"  # a file being written; never sent, removed when a crash left it behind
STALE_TEMP_S = 3600.0


class BatchSink(Protocol):
    """Where batch files go (``ScoredStore``): create a file under ``scored/`` if absent."""

    def accepts(self, relative: str) -> bool: ...

    def put(self, relative: str, data: bytes) -> bool: ...


@dataclass(frozen=True)
class Sent:
    """What one pass over the outbox did: files and records now in the lake, the error that
    stopped it (the rest wait for the next pass)."""

    files: int = 0
    rows: int = 0
    error: Exception | None = None
    quarantined: tuple[str, ...] = ()  # files set aside under _unreadable/ (not batches)
    file_errors: tuple[tuple[str, str, Exception], ...] = ()  # (kind, file, error): left for later


class Outbox:
    """Batch files waiting for the lake, under one local folder."""

    def __init__(self, root: Path, fsync: bool = False) -> None:
        self.root = root
        # A batch file outlives its journal segment: on disk before it (fsync) when the journal
        # is asked to survive the machine's crash, else in the page cache, like the journal.
        self.fsync = fsync
        self._foreign: set[str] = set()

    def _warn_foreign(self, relative: str) -> None:
        if relative not in self._foreign:  # once: it is not ours to send or to delete
            self._foreign.add(relative)
            logger.warning(
                "capture: %s in the spill folder is not a batch file; left alone", relative
            )

    def put(self, relative: str, data: bytes) -> Path:
        """Store a batch file atomically (a reader sees all of it or nothing)."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}{TEMP_SUFFIX}")
        with open(temp, "wb") as handle:
            handle.write(data)
            if self.fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temp, path)
        return path

    def pending(self) -> list[Path]:
        """The batch files waiting, oldest first."""
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.rglob("*.parquet"):
            if path.relative_to(self.root).parts[0] in _NOT_OUTGOING:
                continue
            try:
                found.append((path.stat().st_mtime, str(path), path))
            except FileNotFoundError:  # sent by another worker meanwhile
                continue
        return [path for *_, path in sorted(found)]

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def send(self, sink: BatchSink, rows_of: RowCounter) -> Sent:
        """Send every waiting file, oldest first; stop at the first failure of the lake. A file
        that is not a readable batch is set aside (never sent); one that cannot be read or
        deleted now is left for the next pass."""
        files = rows = 0
        quarantined: list[str] = []
        errors: list[tuple[str, str, Exception]] = []
        for path in self.pending():
            relative = self.relative(path)
            if not sink.accepts(relative):
                self._warn_foreign(relative)
                continue
            try:
                data = path.read_bytes()
            except FileNotFoundError:  # another worker sent it
                continue
            except OSError as error:
                errors.append(("spill_read", relative, error))
                continue
            try:
                records = rows_of(relative, data)
            except Exception:  # not Parquet, truncated: the lake's readers would fail on it
                if self._set_aside(path, relative):
                    quarantined.append(relative)
                continue
            try:
                created = sink.put(relative, data)  # False: it was there already
            except Exception as error:  # the lake is unreachable or refuses: try again later
                return Sent(files, rows, error, tuple(quarantined), tuple(errors))
            try:
                path.unlink(missing_ok=True)  # only now: the lake has it
            except OSError as error:  # sent again next pass: the lake's create is a no-op
                errors.append(("spill_remove", relative, error))
            if created:  # else an earlier send (or another worker) wrote and counted it
                files += 1
                rows += records
        return Sent(files, rows, None, tuple(quarantined), tuple(errors))

    def _set_aside(self, path: Path, relative: str) -> bool:
        """Move an unreadable file to ``_unreadable/`` → False if another worker did first."""
        target = self.root / UNREADABLE_DIR / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, target)
        except FileNotFoundError:
            return False
        return True

    def remove_stale_temps(self, older_than_s: float = STALE_TEMP_S) -> int:
        """Delete half-written files a crash left behind (a live writer's are recent)."""
        removed = 0
        cutoff = time.time() - older_than_s
        for temp in _temps(self.root):
            try:
                if temp.stat().st_mtime < cutoff:
                    temp.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


class RowCounter(Protocol):
    """How many records a batch file holds (read from its Parquet footer)."""

    def __call__(self, relative: str, data: bytes) -> int: ...


def _temps(root: Path) -> Iterable[Path]:
    return root.rglob(f".*{TEMP_SUFFIX}") if root.is_dir() else ()
