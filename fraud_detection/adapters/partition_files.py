"""A partition's bytes and its rows: Parquet written the one way the lake keeps it, and a
fetched partition (Parquet or CSV) decoded whole, in chunks of rows, or column by column.
Pure: no file system here; corrupt or empty bytes raise ``LakeError``."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from fraud_detection.core.lineage import PartitionRef

if TYPE_CHECKING:  # pandas and pyarrow are imported where rows are read
    import numpy as np
    import pandas as pd


class LakeError(RuntimeError):
    """A partition that cannot be read or written as asked."""


class PartitionExistsError(LakeError):
    """The partition exists with different content; months are immutable."""


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """Deterministic Parquet bytes for a frame (same frame → same bytes → same hash)."""
    # Imported here: the service imports this module for its types and never writes Parquet,
    # so its image can leave pyarrow out.
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def decode(ref: PartitionRef, data: bytes) -> pd.DataFrame:
    """Bytes of a fetched partition → rows (pure); corrupt or empty bytes raise LakeError."""
    import pandas as pd

    if not data:
        raise LakeError(f"{ref.path}: empty file")
    try:
        if ref.path.endswith(".csv"):
            return pd.read_csv(io.BytesIO(data))
        return pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow/pandas raise many kinds for corrupt bytes
        raise LakeError(f"{ref.path}: unreadable ({type(exc).__name__}: {exc})") from exc


def decode_chunks(
    ref: PartitionRef, data: bytes, chunk_rows: int, columns: Sequence[str] | None = None
) -> Iterator[pd.DataFrame]:
    """Bytes of a fetched partition → its rows in file order, ``chunk_rows`` at a time.

    Parquet is read batch by batch (and only ``columns``, when given: names as the file spells
    them); a CSV file (a corrected delivery, small) is decoded whole and then sliced.
    """
    if not data or ref.path.endswith(".csv"):
        frame = decode(ref, data)
        frame = frame if columns is None else frame.loc[:, list(columns)]
        for start in range(0, len(frame), chunk_rows):
            yield frame.iloc[start : start + chunk_rows]
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        batches = pq.ParquetFile(pa.BufferReader(data)).iter_batches(
            batch_size=chunk_rows, columns=None if columns is None else list(columns)
        )
        for batch in batches:
            yield batch.to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:  # corrupt bytes, many kinds
        raise LakeError(f"{ref.path}: unreadable ({type(exc).__name__}: {exc})") from exc


def decode_columns(
    ref: PartitionRef, data: bytes, chunk_rows: int, columns: Sequence[str]
) -> Iterator[dict[str, np.ndarray]]:
    """``decode_chunks`` as NumPy columns (names as the file spells them), without a frame.

    Parquet goes from Arrow straight to NumPy (an integer column with nulls as float64 with NaN,
    as pandas reads it). Arrow's pool hands back what it kept once the partition is read: a
    pass over a large partition must not leave its decoding buffers behind.
    """
    if not data or ref.path.endswith(".csv"):
        for chunk in decode_chunks(ref, data, chunk_rows, columns):
            yield {name: chunk[name].to_numpy() for name in columns}
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        batches = pq.ParquetFile(pa.BufferReader(data)).iter_batches(
            batch_size=chunk_rows, columns=list(columns)
        )
        for batch in batches:
            yield {name: batch.column(name).to_numpy(zero_copy_only=False) for name in columns}
    except (pa.ArrowException, OSError, ValueError) as exc:  # corrupt bytes, many kinds
        raise LakeError(f"{ref.path}: unreadable ({type(exc).__name__}: {exc})") from exc
    finally:
        pa.default_memory_pool().release_unused()


def column_names(ref: PartitionRef, data: bytes) -> list[str]:
    """A partition's column names as the file spells them (Parquet: from its footer only)."""
    if ref.path.endswith(".csv"):
        return list(decode(ref, data).columns)
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return list(pq.ParquetFile(pa.BufferReader(data)).schema_arrow.names)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise LakeError(f"{ref.path}: unreadable ({type(exc).__name__}: {exc})") from exc
