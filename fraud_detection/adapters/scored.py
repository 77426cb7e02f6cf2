"""Captured scores in the lake (``scored/day=YYYY-MM-DD/``) and the service's request tallies
(``scored/_requests/day=…/``): written a batch at a time, read by day partitions with pyarrow
(only the days and columns asked for), deleted by age.

A batch file is created once (the lake's create-if-absent write: a hard link locally, a
conditional PUT on S3), so a retried write can neither overwrite another writer's file nor
leave a partial one; writing a file that is already there is a no-op that says so.
"""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored_days import list_day
from fraud_detection.adapters.unreadable import Vanished, read_or_set_aside
from fraud_detection.core.scored import (
    DAY_KEY,
    REQUESTS_DIR,
    SCORED_AT,
    SCORED_DIR,
    TALLY_START,
    SetAside,
    request_tally_schema,
    scored_schema,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pyarrow as pa
    import pyarrow.compute as pc

TALLIES = REQUESTS_DIR.removeprefix(f"{SCORED_DIR}/")  # "_requests", under scored/
EPOCH_DAY = date(1970, 1, 1)
# A batch is written at every flush and lives until the compaction rewrites its closed day in
# zstd: snappy, and dictionaries only for the text columns (on 54 float inputs they cost time
# and save no bytes): 0.5 µs a record against 1.3 for zstd with dictionaries everywhere, in
# files 40 % larger for at most a day.
BATCH_PARQUET = {"compression": "snappy"}
MICROSECONDS_A_DAY = 86_400_000_000
# What a batch file's path under scored/ may look like: nothing else is ever written there.
RELATIVE_PATH = re.compile(
    rf"^(?:{TALLIES}/)?{DAY_KEY}=\d{{4}}-\d{{2}}-\d{{2}}/[A-Za-z0-9][A-Za-z0-9._-]*\.parquet$"
)


@dataclass(frozen=True)
class BatchFile:
    """One file of a batch, ready for the lake: its path under ``scored/``, bytes and rows."""

    relative: str
    data: bytes
    rows: int


def _by_day(table: pa.Table, time_column: str, prefix: str, name: str) -> list[BatchFile]:
    """A table as one Parquet file per UTC day of ``time_column``, named ``name``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Day numbers from the microseconds (the schemas' unit): formatting every row's timestamp
    # cost as much as the whole table's making.
    days = table[time_column].cast(pa.int64()).to_numpy() // MICROSECONDS_A_DAY
    files = []
    numbers = np.unique(days)
    for number in numbers:
        day = (EPOCH_DAY + timedelta(days=int(number))).isoformat()
        # one day (nearly every batch): the table itself, not a filtered copy of it
        part = table if len(numbers) == 1 else table.filter(pa.array(days == number))
        buffer = io.BytesIO()
        pq.write_table(part, buffer, **BATCH_PARQUET, use_dictionary=_text_columns(part))
        relative = f"{prefix}{DAY_KEY}={day}/{name}.parquet"
        files.append(BatchFile(relative, buffer.getvalue(), part.num_rows))
    return files


def _text_columns(table: pa.Table) -> list[str]:
    import pyarrow as pa

    return [field.name for field in table.schema if pa.types.is_string(field.type)]


class ScoredStore:
    """The lake's ``scored/`` partitions: append batches, read a window, find, expire."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.root = f"{lake.root}/{SCORED_DIR}"
        self.set_aside: list[SetAside] = []  # unreadable files this store moved to quarantine

    def _day_dir(self, day: str) -> str:
        return f"{self.root}/{DAY_KEY}={day}"

    def batch_files(self, table: pa.Table, name: str) -> list[BatchFile]:
        """Captured records as the files of one batch named ``name`` (one per day it spans)."""
        return _by_day(table.cast(scored_schema()), SCORED_AT, "", name)

    def tally_files(self, table: pa.Table, name: str) -> list[BatchFile]:
        """Request tallies as the files of one batch named ``name`` (by the window's start)."""
        return _by_day(table.cast(request_tally_schema()), TALLY_START, f"{TALLIES}/", name)

    @staticmethod
    def accepts(relative: str) -> bool:
        """Is this the path of a batch file under ``scored/``?"""
        return RELATIVE_PATH.match(relative) is not None

    def put(self, relative: str, data: bytes) -> bool:
        """Create ``scored/<relative>`` with ``data`` → False if that file was already there."""
        if not self.accepts(relative):
            raise ValueError(f"not a batch file of scored/: {relative!r}")
        return self.lake.create_file(f"{self.root}/{relative}", data)

    def write(self, table: pa.Table, writer: str) -> list[str]:
        """Write a batch (one file per day it spans) → the paths written."""
        written = []
        for file in self.batch_files(table, f"{writer}-{uuid.uuid4().hex}"):
            if not self.put(file.relative, file.data):
                raise FileExistsError(file.relative)  # a fresh uuid: never expected
            written.append(f"{self.root}/{file.relative}")
        return written

    def _days_under(self, root: str) -> list[str]:
        # Other processes (every worker of every replica) add files all the time: S3 listings
        # cached by an earlier call in this process (s3fs keeps them) would hide them. One
        # listing of the day directories, not of every file in them.
        self.lake.fs.invalidate_cache()
        prefix = f"{DAY_KEY}="
        try:
            names = [p.rstrip("/").rsplit("/", 1)[-1] for p in self.lake.fs.ls(root, detail=False)]
        except FileNotFoundError:
            return []
        return sorted(n.removeprefix(prefix) for n in names if n.startswith(prefix))

    def days(self) -> list[str]:
        """The day partitions present, oldest first."""
        return self._days_under(self.root)

    def _days_between(self, since: date | None, until: date | None) -> list[str]:
        if since and until:  # a window: its own days only, however many are kept
            return [
                (since + timedelta(days=i)).isoformat() for i in range((until - since).days + 1)
            ]
        return [
            day
            for day in self.days()
            if not ((since and day < since.isoformat()) or (until and day > until.isoformat()))
        ]

    def _files(self, since: date | None, until: date | None) -> list[str]:
        from concurrent.futures import ThreadPoolExecutor

        self.lake.fs.invalidate_cache()
        days = self._days_between(since, until)
        # Each day costs a listing and a manifest read: on S3 a round trip each, so at once.
        with ThreadPoolExecutor(max_workers=min(16, max(len(days), 1))) as pool:
            listed = pool.map(lambda day: list_day(self.lake, self._day_dir(day)).live, days)
            return [path for live in listed for path in live]

    def read(
        self,
        *,
        since: date | None = None,
        until: date | None = None,
        columns: Sequence[str] | None = None,
        where: pc.Expression | None = None,
    ) -> pa.Table:
        """Records of the days from ``since`` to ``until`` (inclusive), only ``columns``; the
        row groups ``where`` excludes by their statistics are skipped, unreadable files set
        aside (``set_aside``)."""
        schema = scored_schema()
        wanted = list(columns) if columns is not None else schema.names
        for attempt in range(3):
            try:
                table, aside = read_or_set_aside(
                    self.lake, self._files(since, until), schema, wanted, where
                )
                self.set_aside.extend(aside)
                return table
            except Vanished:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def delete_before(self, day: date) -> list[str]:
        """Remove every day partition older than ``day``, captured records and request tallies
        alike (retention) → the days removed."""
        removed = set()
        for root in (self.root, f"{self.root}/{TALLIES}"):
            for old in (d for d in self._days_under(root) if d < day.isoformat()):
                self.lake.fs.rm(f"{root}/{DAY_KEY}={old}", recursive=True)
                removed.add(old)
        return sorted(removed)
