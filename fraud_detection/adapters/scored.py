"""Captured scores in the lake (``scored/day=YYYY-MM-DD/``): written a batch at a time, read by
day partitions with pyarrow (only the days and columns asked for), deleted by age.

A batch file is created once (the lake's create-if-absent write: a hard link locally, a
conditional PUT on S3), so a retried write can neither overwrite another writer's file nor
leave a partial one.
"""

from __future__ import annotations

import io
import uuid
from datetime import date
from typing import TYPE_CHECKING

from fraud_detection.adapters.lake import Lake
from fraud_detection.core.scored import DAY_KEY, SCORED_AT, SCORED_DIR, scored_schema

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pyarrow as pa
    import pyarrow.compute as pc


class ScoredStore:
    """The lake's ``scored/`` partitions: append batches, read a window, find, expire."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.root = f"{lake.root}/{SCORED_DIR}"

    def _day_dir(self, day: str) -> str:
        return f"{self.root}/{DAY_KEY}={day}"

    def write(self, table: pa.Table, writer: str) -> list[str]:
        """Write a batch (one file per day it spans) → the paths written."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        table = table.cast(scored_schema())
        days = pc.strftime(table[SCORED_AT], format="%Y-%m-%d")
        written = []
        for day in sorted(set(days.to_pylist())):
            part = table.filter(pc.equal(days, day))
            buffer = io.BytesIO()
            pq.write_table(part, buffer, compression="zstd")
            path = f"{self._day_dir(day)}/{writer}-{uuid.uuid4().hex}.parquet"
            if not self.lake.create_file(path, buffer.getvalue()):
                raise FileExistsError(path)  # a fresh uuid: never expected
            written.append(path)
        return written

    def days(self) -> list[str]:
        """The day partitions present, oldest first."""
        prefix = f"{DAY_KEY}="
        found = {
            path.rsplit("/", 2)[-2].removeprefix(prefix)
            for path in self.lake.fs.glob(f"{self.root}/{prefix}*/*.parquet")
        }
        return sorted(found)

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
        """Remove every day partition older than ``day`` → the days removed (retention)."""
        removed = [d for d in self.days() if d < day.isoformat()]
        for old in removed:
            self.lake.fs.rm(self._day_dir(old), recursive=True)
        return removed
