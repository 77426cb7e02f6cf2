"""What the capture is configured with, writes to and reports to."""

from __future__ import annotations

import os
import re
import secrets
import socket
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from fraud_detection.config import Settings

if TYPE_CHECKING:
    import pyarrow as pa

    from fraud_detection.adapters.scored import BatchFile

BUFFER_FULL = "buffer_full"  # why records were dropped: no room in memory
SPILL_FAILED = "spill_failed"  # neither the spill folder nor the lake took the batch
FLUSH_FAILED = "flush_failed"  # the batch could not be made (a bug: logged with its type)
DROP_REASONS = (BUFFER_FULL, SPILL_FAILED, FLUSH_FAILED)

# What went wrong in the capture's threads (the label of capture_errors_total).
LAKE_WRITE = "lake_write"  # the lake refused or did not answer
SPILL_WRITE = "spill_write"  # neither the spill folder nor the lake took a batch (dropped)
SPILL_READ = "spill_read"  # a waiting batch file could not be read (EIO, EACCES)
SPILL_REMOVE = "spill_remove"  # a sent batch file could not be deleted (EROFS)
UNREADABLE = "unreadable"  # a file in the spill folder is not a readable batch: set aside
JOURNAL_WRITE = "journal_write"  # a request's records could not be journaled (still buffered)
RECOVERY = "recovery"  # a dead worker's journal could not be turned into batches yet
FLUSH = "flush"  # the flusher failed (a bug, or the disk)
SEND = "send"  # the sender failed other than on the lake (a bug)
COMPANION = "capture_process"  # the capture's own process stopped (started again)
ERROR_KINDS = (
    LAKE_WRITE,
    SPILL_WRITE,
    SPILL_READ,
    SPILL_REMOVE,
    UNREADABLE,
    JOURNAL_WRITE,
    RECOVERY,
    FLUSH,
    SEND,
    COMPANION,
)


class BatchStore(Protocol):
    """The lake's ``scored/`` as the capture writes it (``ScoredStore``)."""

    def batch_files(self, table: pa.Table, name: str) -> list[BatchFile]: ...

    def tally_files(self, table: pa.Table, name: str) -> list[BatchFile]: ...

    def accepts(self, relative: str) -> bool: ...

    def put(self, relative: str, data: bytes) -> bool: ...


class Companion(Protocol):
    """A process of its own that batches and sends the segments this capture seals."""

    def start(self) -> None: ...

    def ensure_running(self) -> None:
        """Start it again if it stopped (it is needed for as long as the capture runs)."""

    def stop(self, timeout_s: float) -> None:
        """Let it batch and send what is sealed, for at most ``timeout_s``."""


class CaptureObserver(Protocol):
    """Where the capture reports its counts (the service: Prometheus counters in /metrics)."""

    def sent(self, records: int) -> None: ...

    def dropped(self, records: int, reason: str) -> None: ...

    def send_failed(self) -> None: ...

    def error(self, kind: str) -> None: ...

    def recovered(self, records: int, torn: int) -> None: ...

    def quarantined(self) -> None: ...


class Unobserved:
    """An observer that keeps nothing (a capture without /metrics: tests, benchmarks)."""

    def sent(self, records: int) -> None:
        pass

    def dropped(self, records: int, reason: str) -> None:
        pass

    def send_failed(self) -> None:
        pass

    def error(self, kind: str) -> None:
        pass

    def recovered(self, records: int, torn: int) -> None:
        pass

    def quarantined(self) -> None:
        pass


def _setting_default(name: str) -> Any:
    return Settings.model_fields[name].default


@dataclass(frozen=True)
class CaptureConfig:
    """How the capture batches, bounds, spills, journals and retries: ``Settings.capture_*``,
    whose defaults are this class's (one place to change them)."""

    spill_dir: Path
    sample_rate: float = _setting_default("capture_sample_rate")
    flush_records: int = _setting_default("capture_flush_records")
    flush_interval_s: float = _setting_default("capture_flush_interval_s")
    max_buffered_records: int = _setting_default("capture_max_buffered_records")
    retry_interval_s: float = _setting_default("capture_retry_interval_s")
    max_backoff_s: float = _setting_default("capture_max_backoff_s")
    journal_fsync: bool = _setting_default("capture_journal_fsync")
    degraded_spill_files: int = _setting_default("capture_degraded_spill_files")
    # Names its segments and batches; by default a fresh name per capture (a batch named as an
    # earlier one would not be written: the lake keeps the first file of a name).
    writer: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> CaptureConfig:
        return cls(
            spill_dir=settings.capture_spill_path,
            sample_rate=settings.capture_sample_rate,
            flush_records=settings.capture_flush_records,
            flush_interval_s=settings.capture_flush_interval_s,
            max_buffered_records=settings.capture_max_buffered_records,
            retry_interval_s=settings.capture_retry_interval_s,
            max_backoff_s=settings.capture_max_backoff_s,
            journal_fsync=settings.capture_journal_fsync,
            degraded_spill_files=settings.capture_degraded_spill_files,
        )


@dataclass
class CaptureStats:
    """Records counted since the start: buffered, written to the spill folder, in the lake,
    dropped (by reason), recovered from a dead worker's journal; failed sends, torn journal
    frames, files set aside, errors (by kind)."""

    buffered: int = 0
    spilled: int = 0
    sent: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    send_failures: int = 0
    recovered: int = 0
    torn: int = 0
    quarantined: int = 0
    errors: Counter[str] = field(default_factory=Counter)


def writer_name() -> str:
    """This process among all workers and replicas: host, pid and a random part."""
    host = re.sub(r"[^A-Za-z0-9.-]+", "-", socket.gethostname()).strip(".-") or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"
