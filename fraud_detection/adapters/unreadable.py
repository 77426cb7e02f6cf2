"""Captured files that cannot be read are set aside, never fatal.

A truncated or empty Parquet file under ``scored/`` (a disk that filled, a junk file copied in)
would otherwise stop every reader of its day: the monitor, the audit, the outcome join. Read a
set of files at once (the fast way); if that fails, try each file on its own, move the ones that
fail to ``<lake>/quarantine/scored/…`` beside a ``.reason.txt`` saying why, and read the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from fraud_detection.adapters.lake import Lake
from fraud_detection.core.scored import QUARANTINE_DIR, SCORED_DIR, SetAside

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc

REASON_SUFFIX = ".reason.txt"


class Vanished(FileNotFoundError):
    """A listed file was gone when read: its day was compacted meanwhile; list the day again."""


class Quarantine:
    """Where unreadable captured files go: ``<lake>/quarantine/scored/<their path>``."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.scored = f"{lake.root}/{SCORED_DIR}/"
        self.root = f"{lake.root}/{QUARANTINE_DIR}/{SCORED_DIR}"

    def set_aside(self, path: str, reason: str) -> SetAside:
        """Move ``path`` (a file under ``scored/``) out of the readers' way, with its reason."""
        relative = path.removeprefix(self.scored)
        target = f"{self.root}/{relative}"
        self.lake.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        self.lake.fs.mv(path, target)
        self.lake.fs.pipe_file(target + REASON_SUFFIX, reason.encode())
        return SetAside(relative, reason)

    def found(self) -> list[str]:
        """The files set aside so far (paths under ``quarantine/scored/``)."""
        if not self.lake.fs.exists(self.root):
            return []
        return sorted(
            p.removeprefix(self.root + "/")
            for p in self.lake.fs.find(self.root)
            if not p.endswith(REASON_SUFFIX)
        )


def _scan(
    lake: Lake,
    files: Sequence[str],
    schema: pa.Schema,
    columns: Sequence[str],
    where: pc.Expression | None,
) -> pa.Table:
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs

    # A local lake through Arrow's own file system: the fsspec bridge costs more than the reads.
    filesystem = (
        pafs.LocalFileSystem() if lake.is_local else pafs.PyFileSystem(pafs.FSSpecHandler(lake.fs))
    )
    dataset = ds.dataset(list(files), schema=schema, format="parquet", filesystem=filesystem)
    return dataset.to_table(columns=list(columns), filter=where)


def read_or_set_aside(
    lake: Lake,
    files: Sequence[str],
    schema: pa.Schema,
    columns: Sequence[str],
    where: pc.Expression | None = None,
) -> tuple[pa.Table, list[SetAside]]:
    """``files`` read as one table; any that cannot be read set aside → (table, set aside)."""
    import pyarrow as pa

    if not files:
        return schema.empty_table().select(list(columns)), []
    try:
        return _scan(lake, files, schema, columns, where), []
    except (pa.ArrowException, OSError, ValueError):
        pass  # find which file: only on this rare path does each file cost a read of its own
    readable, set_aside = [], []
    quarantine = Quarantine(lake)
    for path in files:
        if not lake.fs.exists(path):
            raise Vanished(path)
        try:
            _scan(lake, [path], schema, columns, where)
            readable.append(path)
        except (pa.ArrowException, OSError, ValueError) as error:
            reason = f"{type(error).__name__}: {error}".splitlines()[0][:300]
            set_aside.append(quarantine.set_aside(path, reason))
    if not readable:
        return schema.empty_table().select(list(columns)), set_aside
    return _scan(lake, readable, schema, columns, where), set_aside
