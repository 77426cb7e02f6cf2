"""Journal segments turned into batches: the sealed ones a live worker handed over, and what a
crashed worker left.

A sealed segment (the worker's flush, when the capture's own process makes the batches) and a
dead worker's segment (unlocked: the kernel let go of its lock) are taken alike: whoever takes
one makes of it the batch its writer would have made — named after the segment, with the
request ids written in it — and keeps that batch in the spill folder (or the lake), then
deletes the segment. A crash between the keep and the delete repeats the keep with the same
name and the same bytes: the spill file is replaced, the lake's create-if-absent is a no-op, so
each record reaches the lake once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fraud_detection.serving.batches import Entry
from fraud_detection.serving.journal import is_sealed, read_segment, segments

if TYPE_CHECKING:
    from fraud_detection.adapters.scored import BatchFile

MakeFiles = Callable[[Sequence[Entry], str], "list[BatchFile]"]
Keep = Callable[["BatchFile"], None]


@dataclass(frozen=True)
class Recovered:
    """Segments of dead writers turned into batches: how many, their records, torn frames;
    and the records of sealed segments batched (handed over, not recovered)."""

    segments: int = 0
    records: int = 0
    torn: int = 0
    sealed_records: int = 0


def recover(folder: Path, make_files: MakeFiles, keep: Keep) -> Recovered:
    """Every sealed or unlocked segment under ``folder`` → batches kept, segment deleted. A
    failure to keep a batch raises (the segment stays for the next try); a torn frame is skipped
    and counted."""
    done = records = torn = sealed = 0
    for path in segments(folder):
        with claimed(path) as data:
            if data is None:
                continue
            replayed = read_segment(data)
            if replayed.entries:
                for file in make_files(replayed.entries, path.stem):
                    keep(file)
            path.unlink(missing_ok=True)
        count = sum(len(entry.scored.probabilities) for entry in replayed.entries)
        torn += replayed.torn
        if is_sealed(path):
            sealed += count
        else:
            done += 1
            records += count
    return Recovered(done, records, torn, sealed)


@contextlib.contextmanager
def claimed(path: Path) -> Iterator[bytes | None]:
    """A dead writer's segment, locked for this process → its bytes, or None when it is not
    to be taken (its writer is alive, or it was removed meanwhile)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None  # a live worker's
            return
        if os.fstat(fd).st_nlink == 0:
            yield None  # its writer removed it between our open and our lock
            return
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read()
        yield data
    finally:
        os.close(fd)  # after the caller removed the file: the lock covers the removal
