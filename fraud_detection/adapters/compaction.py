"""Compaction of a closed day of captured scores: its many small files (one per flush of every
worker) rewritten into a few, sorted by application id, in row groups whose statistics let an
audit skip all but the groups holding its id.

Safe to kill at any point and to run again (see ``scored_days``): the new files count for
nothing until the manifest that commits them exists, and that is written only after they were
read back and found to hold exactly the old files' records (same count, same request ids,
times and application ids); the old files are deleted last. Files that arrive while it runs are
not among those it replaces, so they stay.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import TYPE_CHECKING

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored_days import COMPACTED, MANIFEST_SUFFIX, list_day, name_of
from fraud_detection.adapters.unreadable import read_or_set_aside
from fraud_detection.core.contract import ID_COLUMN
from fraud_detection.core.scored import (
    DAY_KEY,
    REQUEST_ID,
    SCORED_AT,
    SCORED_DIR,
    Compacted,
    scored_schema,
)

if TYPE_CHECKING:
    import pyarrow as pa

KEYS = [ID_COLUMN, SCORED_AT, REQUEST_ID]  # the sort, and what identifies a record when checked


class CompactionMismatch(RuntimeError):
    """The rewritten files do not hold exactly the records they replace: nothing is committed."""


class Compactor:
    """Rewrites a closed day's captured files into a few sorted ones (``compact_day``)."""

    def __init__(self, lake: Lake, *, rows_per_file: int, row_group_rows: int) -> None:
        self.lake = lake
        self.root = f"{lake.root}/{SCORED_DIR}"
        self.rows_per_file = rows_per_file
        self.row_group_rows = row_group_rows

    def day_dir(self, day: str) -> str:
        return f"{self.root}/{DAY_KEY}={day}"

    def _remove(self, paths: list[str]) -> None:
        for path in paths:
            if self.lake.fs.exists(path):
                self.lake.fs.rm(path)

    def compact_day(self, day: str) -> Compacted | None:
        """Compact ``day`` → what was done, or None when it was compact already."""
        self.lake.fs.invalidate_cache()
        files = list_day(self.lake, self.day_dir(day))
        self._remove(files.replaced + files.uncommitted)  # a killed run's leftovers
        if files.compact:
            return None
        schema = scored_schema()
        table, aside = read_or_set_aside(self.lake, files.live, schema, schema.names)
        moved = {name_of(a.path) for a in aside}
        inputs = [p for p in files.live if name_of(p) not in moved]
        token = hashlib.sha256("\n".join(name_of(p) for p in inputs).encode()).hexdigest()[:16]
        ordered = table.sort_by([(k, "ascending") for k in KEYS])
        outputs = self._write(day, token, ordered)
        self._check(ordered, outputs)
        manifest = {
            "replaces": [name_of(p) for p in inputs + files.manifests],
            "files": [name_of(p) for p in outputs],
            "rows": ordered.num_rows,
        }
        path = f"{self.day_dir(day)}/{COMPACTED}{token}{MANIFEST_SUFFIX}"
        self.lake.create_file(path, json.dumps(manifest).encode())  # the commit
        self._remove(inputs + files.manifests)
        return Compacted(day, len(inputs), len(outputs), ordered.num_rows, len(aside))

    def _write(self, day: str, token: str, table: pa.Table) -> list[str]:
        import pyarrow.parquet as pq

        outputs = []
        for number, start in enumerate(range(0, max(table.num_rows, 1), self.rows_per_file)):
            buffer = io.BytesIO()
            part = table.slice(start, self.rows_per_file)
            pq.write_table(
                part,
                buffer,
                compression="zstd",
                row_group_size=self.row_group_rows,
                write_statistics=True,
            )
            path = f"{self.day_dir(day)}/{COMPACTED}{token}-{number:04d}.parquet"
            self.lake.create_file(path, buffer.getvalue())
            outputs.append(path)
        return outputs

    def _check(self, expected: pa.Table, outputs: list[str]) -> None:
        schema = scored_schema()
        back, aside = read_or_set_aside(self.lake, outputs, schema, KEYS)
        if aside or back.num_rows != expected.num_rows:
            raise CompactionMismatch(
                f"{back.num_rows} records written back, {expected.num_rows} expected"
            )
        if not back.sort_by([(k, "ascending") for k in KEYS]).equals(expected.select(KEYS)):
            raise CompactionMismatch("the rewritten records differ from those they replace")
