"""The data lake: ``base/`` history and immutable ``incoming/month=YYYY-MM/`` partitions.

The same code runs on a local folder and on ``s3://bucket/prefix`` (through fsspec/s3fs).
A partition is written once: rewriting it with different bytes is refused, and a failed write
never leaves a partial file visible (local: write-then-link; S3: a single conditional PUT).
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any

import fsspec

from fraud_detection.adapters.conditional_files import (
    LocalStampedFiles,
    S3StampedFiles,
    StampedFiles,
)
from fraud_detection.adapters.partition_files import LakeError as LakeError
from fraud_detection.adapters.partition_files import PartitionExistsError as PartitionExistsError
from fraud_detection.adapters.partition_files import decode, parquet_bytes
from fraud_detection.config import Settings
from fraud_detection.core.lineage import PartitionRef
from fraud_detection.core.redact import redact_uri

if TYPE_CHECKING:  # pandas is imported where rows are read: `status` lists months without it
    import pandas as pd

MONTH_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
# Delivery 1 is applications.<ext>; a corrected delivery of the same month is applications-N.<ext>.
DELIVERY_PATTERN = re.compile(
    r"^applications(?:-(?P<number>[2-9]|[1-9]\d+))?\.(?P<ext>parquet|csv)$"
)
LABELS_AS_OF_SUFFIX = ".labels_as_of"  # beside a delivery: when its labels were taken
TRUTH_NAME = "truth.parquet"  # true p(fraud) of synthetic rows, kept out of the features


def check_month(month: str) -> str:
    if not MONTH_PATTERN.match(month):
        raise ValueError(f"month must look like YYYY-MM, got {month!r}")
    return month


class Lake:
    """The lake on a local folder or S3: months are written once and read by their bytes' hash."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Lake:
        return cls(settings.lake, settings.storage_options())

    def __init__(self, uri: str, storage_options: dict[str, Any] | None = None) -> None:
        self.uri = uri.rstrip("/")
        self.fs, self.root = fsspec.core.url_to_fs(self.uri, **(storage_options or {}))
        self.is_local = "file" in (
            self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        )

    def __repr__(self) -> str:
        return f"Lake({redact_uri(self.uri)!r})"

    # -- paths ---------------------------------------------------------------------------------
    def _dir(self, name: str) -> str:
        return f"{self.root}/base" if name == "base" else f"{self.root}/incoming/month={name}"

    @cached_property
    def stamped(self) -> StampedFiles:
        """Compare-and-set on this lake's small files, with the storage's times (the lease)."""
        return LocalStampedFiles() if self.is_local else S3StampedFiles(self.fs)

    def display(self, path: str) -> str:
        """A path as a user would write it (with the s3:// scheme)."""
        return path if self.is_local else f"s3://{path}"

    # -- listing -------------------------------------------------------------------------------
    def list_months(self) -> list[str]:
        pattern = f"{self.root}/incoming/month=*/applications*"
        months = set()
        for path in self.fs.glob(pattern):
            match = re.search(r"month=([^/]+)/" + DELIVERY_PATTERN.pattern.lstrip("^"), path)
            if match and MONTH_PATTERN.match(match[1]):
                months.add(match[1])
        return sorted(months)

    def has_base(self) -> bool:
        return self._data_path("base", must_exist=False) is not None

    def deliveries(self, name: str) -> list[str]:
        """A partition's files, oldest delivery first (a correction never replaces bytes)."""
        found = []
        for path in self.fs.glob(f"{self._dir(name)}/applications*"):
            match = DELIVERY_PATTERN.search(path.rsplit("/", 1)[-1])
            if match:
                found.append(
                    (int(match["number"] or 1), 0 if match["ext"] == "parquet" else 1, path)
                )
        return [path for *_, path in sorted(found)]

    def latest(self, name: str) -> str | None:
        """The path of the delivery in force for a partition (found by listing, nothing read)."""
        found = self.deliveries(name)
        return self.display(found[-1]) if found else None

    def _data_path(self, name: str, must_exist: bool = True) -> str | None:
        found = self.deliveries(name)
        if found:
            return found[-1]
        if must_exist:
            raise LakeError(f"no data for {name!r} under {self.display(self._dir(name))}")
        return None

    # -- reading -------------------------------------------------------------------------------
    def _read_bytes(self, path: str) -> bytes:
        try:
            body: bytes = self.fs.cat_file(path)
            return body
        except FileNotFoundError as exc:
            raise LakeError(f"{self.display(path)}: not found") from exc
        except PermissionError as exc:
            raise LakeError(f"{self.display(path)}: access denied ({exc})") from exc

    def read(self, name: str) -> pd.DataFrame:
        """Read a month or the base; a corrupt or empty file raises LakeError naming it."""
        data, ref = self.fetch(name)
        return decode(ref, data)

    def fetch(self, name: str) -> tuple[bytes, PartitionRef]:
        """A partition's raw bytes and ref, without decoding (I/O only, safe to retry)."""
        if name != "base":
            check_month(name)
        path = self._data_path(name)
        assert path is not None
        data = self._read_bytes(path)
        return data, PartitionRef(name, self.display(path), hashlib.sha256(data).hexdigest())

    def _decode(self, path: str, data: bytes) -> pd.DataFrame:
        shown = path if "://" in path or path.startswith("/") else self.display(path)
        return decode(PartitionRef("", shown, ""), data)

    def read_truth(self, name: str) -> pd.DataFrame | None:
        """True p(fraud) stored beside a synthetic partition, if there is one."""
        path = f"{self._dir(name)}/{TRUTH_NAME}"
        if not self.fs.exists(path):
            return None
        return self._decode(path, self._read_bytes(path))

    # -- writing -------------------------------------------------------------------------------
    def write(
        self, name: str, frame: pd.DataFrame, truth: pd.DataFrame | None = None
    ) -> PartitionRef:
        """Write a partition once. Same bytes again is a no-op; different bytes are refused."""
        if name != "base":
            check_month(name)
        path = f"{self._dir(name)}/applications.parquet"
        if truth is not None:
            self._write_once(f"{self._dir(name)}/{TRUTH_NAME}", parquet_bytes(truth))
        data = parquet_bytes(frame)
        self._write_once(path, data)
        return PartitionRef(name, self.display(path), hashlib.sha256(data).hexdigest())

    def deliver(self, month: str, data: bytes, *, csv: bool = False) -> PartitionRef:
        """A corrected (or first) delivery of a month: the next file beside the old ones.

        The same bytes as the delivery in force are a no-op; older deliveries stay untouched.
        """
        check_month(month)
        existing = self.deliveries(month)
        if existing and self._read_bytes(existing[-1]) == data:
            latest = existing[-1]
            return PartitionRef(month, self.display(latest), hashlib.sha256(data).hexdigest())
        number = len(existing) + 1
        ext = "csv" if csv else "parquet"
        name = f"applications.{ext}" if number == 1 else f"applications-{number}.{ext}"
        path = f"{self._dir(month)}/{name}"
        self._write_once(path, data)
        return PartitionRef(month, self.display(path), hashlib.sha256(data).hexdigest())

    def record_labels_as_of(self, month: str, day: date) -> None:
        """Record when the labels of the month's delivery in force were taken (a small file
        beside it, ``<delivery>.labels_as_of``; written once, like the delivery)."""
        path = self._data_path(month)
        assert path is not None
        self._write_once(f"{path}{LABELS_AS_OF_SUFFIX}", day.isoformat().encode())

    def labels_as_of(self, month: str) -> date | None:
        """When the labels of the month's delivery in force were taken, if it says."""
        path = self._data_path(month, must_exist=False)
        if path is None or not self.fs.exists(f"{path}{LABELS_AS_OF_SUFFIX}"):
            return None
        return date.fromisoformat(self._read_bytes(f"{path}{LABELS_AS_OF_SUFFIX}").decode())

    def create_file(self, path: str, data: bytes) -> bool:
        """Create ``path`` with ``data`` only if it does not exist (atomic); False if it did."""
        return self._create_local(path, data) if self.is_local else self._create_remote(path, data)

    def _write_once(self, path: str, data: bytes) -> None:
        if self.is_local:
            created = self._create_local(path, data)
        else:
            created = self._create_remote(path, data)
        if not created and self._read_bytes(path) != data:
            raise PartitionExistsError(
                f"{self.display(path)} already exists with different content; months are immutable"
            )

    def _create_local(self, path: str, data: bytes) -> bool:
        directory = os.path.dirname(path)
        os.makedirs(directory, exist_ok=True)
        temp = os.path.join(directory, f".{os.path.basename(path)}.{uuid.uuid4().hex}.tmp")
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)  # atomic, and fails if the target exists
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(temp)

    def _create_remote(self, path: str, data: bytes) -> bool:
        try:
            self.fs.pipe_file(path, data, mode="create")  # S3 PUT with If-None-Match: *
            return True
        except FileExistsError:
            return False
        except OSError as exc:
            if any(s in str(exc) for s in ("PreconditionFailed", "412", "pre-conditions")):
                return False
            raise LakeError(f"{self.display(path)}: write failed ({exc})") from exc
