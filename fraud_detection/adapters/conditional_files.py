"""Small files of the lake changed only by compare-and-set, read with the storage's own times.

A lease needs four operations that never act on a file someone else changed meanwhile: create if
absent, read (bytes, a version tag, when the storage wrote it and what time the storage says it
is now), replace only if unchanged and delete only if unchanged. On S3 they are conditional
requests (``If-None-Match: *``, ``If-Match: <ETag>``) and the times are the object's
``LastModified`` and the response's ``Date``. On a local (or network-mounted) folder the compare
and the change are made under a kernel file lock, held for microseconds and released by the
kernel if its process dies, and the times are modification times as the file system stamps them.
Either way no machine's own clock is consulted.
"""

from __future__ import annotations

import contextlib
import email.utils
import fcntl
import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from fsspec.asyn import sync

# The coarsest clock either store stamps with (S3's LastModified and Date are whole seconds).
STORAGE_CLOCK_RESOLUTION_S = 1.0
_REFUSED = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}
_MISSING = {"NoSuchKey", "404", "NotFound"}


@dataclass(frozen=True)
class Stamped:
    """A file as the storage holds it: bytes, a tag that changes with every write, and two times
    on the storage's clock (seconds since the epoch): when it was written, and now."""

    body: bytes
    tag: str
    written: float
    now: float

    @property
    def age(self) -> float:
        """Seconds since the last write, on the storage's clock (at most one tick early)."""
        return self.now - self.written


class StampedFiles(Protocol):
    """The four compare-and-set operations on one store (see the module docstring)."""

    def create(self, path: str, body: bytes) -> str | None: ...

    def read(self, path: str) -> Stamped | None: ...

    def replace(self, path: str, body: bytes, tag: str) -> str | None: ...

    def delete(self, path: str, tag: str) -> bool: ...

    def now(self, directory: str) -> float: ...


# -- local folder --------------------------------------------------------------------------------
class LocalStampedFiles:
    """A folder (local disk or a network file system): writes are atomic renames, compares are
    made under ``flock`` on a guard file beside the target, the tag is the bytes' sha256."""

    def create(self, path: str, body: bytes) -> str | None:
        with self._guard(path):
            if os.path.exists(path):
                return None
            self._write(path, body)
        return _digest(body)

    def read(self, path: str) -> Stamped | None:
        try:
            with open(path, "rb") as handle:  # bytes and times of the same file, even mid-rename
                body = handle.read()
                written = os.fstat(handle.fileno()).st_mtime
        except FileNotFoundError:
            return None
        return Stamped(body, _digest(body), written, self.now(os.path.dirname(path)))

    def replace(self, path: str, body: bytes, tag: str) -> str | None:
        with self._guard(path):
            if self._tag(path) != tag:
                return None
            self._write(path, body)
        return _digest(body)

    def delete(self, path: str, tag: str) -> bool:
        with self._guard(path):
            if self._tag(path) != tag:
                return False
            os.unlink(path)
        return True

    def now(self, directory: str) -> float:
        """The file system's time: the modification time it stamps on a file written now."""
        os.makedirs(directory, exist_ok=True)
        probe = os.path.join(directory, f".clock-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        try:
            with open(probe, "wb") as handle:
                handle.write(b"t")
                handle.flush()
                return os.fstat(handle.fileno()).st_mtime
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(probe)

    @staticmethod
    def _tag(path: str) -> str | None:
        try:
            with open(path, "rb") as handle:
                return _digest(handle.read())
        except FileNotFoundError:
            return None

    @staticmethod
    def _write(path: str, body: bytes) -> None:
        temp = f"{path}.{uuid.uuid4().hex}.tmp"
        with open(temp, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)  # readers see the old bytes or the new, never half of them

    @staticmethod
    @contextlib.contextmanager
    def _guard(path: str) -> Iterator[None]:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(f"{path}.guard", "a+b") as guard:
            # flock: per open file, so threads of one process exclude each other too; the kernel
            # drops it when its holder dies, so a crash can never leave the guard taken.
            fcntl.flock(guard.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(guard.fileno(), fcntl.LOCK_UN)


# -- S3 ------------------------------------------------------------------------------------------
class S3StampedFiles:
    """An S3 bucket through s3fs's client: conditional PUT and DELETE, the ETag as the tag."""

    def __init__(self, fs: Any) -> None:
        self.fs = fs

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any] | None:
        """One S3 request; None when the store refused its condition (or the key is gone)."""
        bucket, key, _ = self.fs.split_path(path)
        try:
            response: dict[str, Any] = self.fs.call_s3(method, Bucket=bucket, Key=key, **kwargs)
        except (OSError, ValueError) as exc:  # s3fs translates the store's errors to these
            if _error_code(exc) in _REFUSED | _MISSING or isinstance(exc, FileExistsError):
                return None
            raise
        return response

    def create(self, path: str, body: bytes) -> str | None:
        response = self._call("put_object", path, Body=body, IfNoneMatch="*")
        return None if response is None else str(response["ETag"])

    def read(self, path: str) -> Stamped | None:
        bucket, key, _ = self.fs.split_path(path)
        try:
            response, body = sync(self.fs.loop, self._get, bucket, key)
        except FileNotFoundError:
            return None
        return Stamped(
            body,
            str(response["ETag"]),
            response["LastModified"].timestamp(),
            _date_header(response),
        )

    async def _get(self, bucket: str, key: str) -> tuple[dict[str, Any], bytes]:
        response = await self.fs._call_s3("get_object", Bucket=bucket, Key=key)
        try:
            return response, await response["Body"].read()
        finally:
            response["Body"].close()

    def replace(self, path: str, body: bytes, tag: str) -> str | None:
        response = self._call("put_object", path, Body=body, IfMatch=tag)
        return None if response is None else str(response["ETag"])

    def delete(self, path: str, tag: str) -> bool:
        return self._call("delete_object", path, IfMatch=tag) is not None

    def now(self, directory: str) -> float:
        bucket = self.fs.split_path(directory)[0]
        return _date_header(self.fs.call_s3("head_bucket", Bucket=bucket))


def _date_header(response: dict[str, Any]) -> float:
    """The storage's clock: the ``Date`` header of its answer."""
    date = response["ResponseMetadata"]["HTTPHeaders"]["date"]
    return email.utils.parsedate_to_datetime(date).timestamp()


def _error_code(exc: BaseException) -> str:
    """The S3 error code behind an s3fs exception (it keeps boto's error as the cause)."""
    for error in (exc, exc.__cause__, exc.__context__):
        response = getattr(error, "response", None)
        if isinstance(response, dict):
            return str(response.get("Error", {}).get("Code", ""))
    return ""


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
