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
from fraud_detection.core.scored import (
    DAY_KEY,
    REQUESTS_DIR,
    SCORED_AT,
    SCORED_DIR,
    TALLY_START,
    request_tally_schema,
    scored_schema,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pyarrow as pa
    import pyarrow.compute as pc

TALLIES = REQUESTS_DIR.removeprefix(f"{SCORED_DIR}/")  # "_requests", under scored/
EPOCH_DAY = date(1970, 1, 1)
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
    for number in np.unique(days):
        day = (EPOCH_DAY + timedelta(days=int(number))).isoformat()
        part = table.filter(pa.array(days == number))
        buffer = io.BytesIO()
        pq.write_table(part, buffer, compression="zstd")
        relative = f"{prefix}{DAY_KEY}={day}/{name}.parquet"
        files.append(BatchFile(relative, buffer.getvalue(), part.num_rows))
    return files


class ScoredStore:
    """The lake's ``scored/`` partitions: append batches, read a window, find, expire."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.root = f"{lake.root}/{SCORED_DIR}"

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
        # cached by an earlier call in this process (s3fs keeps them) would hide them.
        self.lake.fs.invalidate_cache()
        prefix = f"{DAY_KEY}="
        found = {
            path.rsplit("/", 2)[-2].removeprefix(prefix)
            for path in self.lake.fs.glob(f"{root}/{prefix}*/*.parquet")
        }
        return sorted(found)

    def days(self) -> list[str]:
        """The day partitions present, oldest first."""
        return self._days_under(self.root)

    def _files(self, since: date | None, until: date | None) -> list[str]:
        files = []
        for day in self.days():
            if (since and day < since.isoformat()) or (until and day > until.isoformat()):
                continue
            files.extend(sorted(self.lake.fs.glob(f"{self._day_dir(day)}/*.parquet")))
        return files

    def read(
        self,
        *,
        since: date | None = None,
        until: date | None = None,
        columns: Sequence[str] | None = None,
        where: pc.Expression | None = None,
    ) -> pa.Table:
        """Records of the days from ``since`` to ``until`` (inclusive), only ``columns``."""
        import pyarrow.dataset as ds
        import pyarrow.fs as pafs

        schema = scored_schema()
        wanted = list(columns) if columns is not None else schema.names
        files = self._files(since, until)
        if not files:
            return schema.empty_table().select(wanted)
        filesystem = pafs.PyFileSystem(pafs.FSSpecHandler(self.lake.fs))
        dataset = ds.dataset(files, schema=schema, format="parquet", filesystem=filesystem)
        return dataset.to_table(columns=wanted, filter=where)

    def delete_before(self, day: date) -> list[str]:
        """Remove every day partition older than ``day``, captured records and request tallies
        alike (retention) → the days removed."""
        removed = set()
        for root in (self.root, f"{self.root}/{TALLIES}"):
            for old in (d for d in self._days_under(root) if d < day.isoformat()):
                self.lake.fs.rm(f"{root}/{DAY_KEY}={old}", recursive=True)
                removed.add(old)
        return sorted(removed)
