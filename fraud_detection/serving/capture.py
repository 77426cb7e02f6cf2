"""Capture of every score the service gives, written to the lake off the request path.

    request ──append──► buffer ──flusher thread──► spill folder ──sender thread──► lake scored/
              (O(1))            (N records or T s:           (batch files, exact    (create if
                                 Arrow → Parquet)             lake bytes)            absent)

- The request path appends a reference to what it already has (the validated float32 matrix,
  the ids, the probabilities, the model snapshot that answered) to a bounded buffer: no Arrow,
  no I/O, never a wait. A request beyond the bound is dropped from the capture and counted.
- The flusher turns the buffer into Parquet batch files and puts them in the spill folder
  (:mod:`fraud_detection.serving.outbox`); it never waits on the network, so the buffer stays
  small however long the lake is away. If the folder cannot take a file, it goes straight to
  the lake; if that fails too, its records are dropped and counted.
- The sender moves spill files to the lake, exactly once (see the outbox), and while the lake
  fails, tries again every ``retry_interval_s``.
- ``close`` (a graceful stop) flushes what is buffered and sends what it can in its time; the
  rest waits in the spill folder for the next start.

A hot swap needs nothing here: every entry carries the snapshot that answered it. Logs carry
counts only; records go nowhere but the spill folder and the lake.
"""

from __future__ import annotations

import logging
import os
import random
import re
import secrets
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from fraud_detection.config import Settings
from fraud_detection.core.bands import RiskBands
from fraud_detection.core.redact import redact_text
from fraud_detection.serving.batches import Entry, RequestTally, now_us, scored_table
from fraud_detection.serving.model import Scored
from fraud_detection.serving.outbox import Outbox, Sent

if TYPE_CHECKING:
    import pyarrow as pa

    from fraud_detection.adapters.scored import BatchFile

logger = logging.getLogger("fraud_detection.serving")

BUFFER_FULL = "buffer_full"  # why records were dropped: no room in memory
SPILL_FAILED = "spill_failed"  # neither the spill folder nor the lake took the batch
FLUSH_FAILED = "flush_failed"  # the batch could not be made (a bug: logged with its type)
DROP_REASONS = (BUFFER_FULL, SPILL_FAILED, FLUSH_FAILED)


class BatchStore(Protocol):
    """The lake's ``scored/`` as the capture writes it (``ScoredStore``)."""

    def batch_files(self, table: pa.Table, name: str) -> list[BatchFile]: ...

    def tally_files(self, table: pa.Table, name: str) -> list[BatchFile]: ...

    def accepts(self, relative: str) -> bool: ...

    def put(self, relative: str, data: bytes) -> bool: ...


class CaptureObserver(Protocol):
    """Where the capture reports its counts (the service: Prometheus counters in /metrics)."""

    def sent(self, records: int) -> None: ...

    def dropped(self, records: int, reason: str) -> None: ...

    def send_failed(self) -> None: ...


class _Unobserved:
    def sent(self, records: int) -> None:
        pass

    def dropped(self, records: int, reason: str) -> None:
        pass

    def send_failed(self) -> None:
        pass


def _setting_default(name: str) -> Any:
    return Settings.model_fields[name].default


@dataclass(frozen=True)
class CaptureConfig:
    """How the capture batches, bounds, spills and retries: ``Settings.capture_*``, whose
    defaults are this class's (one place to change them)."""

    spill_dir: Path
    sample_rate: float = _setting_default("capture_sample_rate")
    flush_records: int = _setting_default("capture_flush_records")
    flush_interval_s: float = _setting_default("capture_flush_interval_s")
    max_buffered_records: int = _setting_default("capture_max_buffered_records")
    retry_interval_s: float = _setting_default("capture_retry_interval_s")

    @classmethod
    def from_settings(cls, settings: Settings) -> CaptureConfig:
        return cls(
            spill_dir=settings.capture_spill_path,
            sample_rate=settings.capture_sample_rate,
            flush_records=settings.capture_flush_records,
            flush_interval_s=settings.capture_flush_interval_s,
            max_buffered_records=settings.capture_max_buffered_records,
            retry_interval_s=settings.capture_retry_interval_s,
        )


@dataclass
class CaptureStats:
    """Records counted since the start: buffered, written to the spill folder, in the lake,
    dropped (by reason); failed sends."""

    buffered: int = 0
    spilled: int = 0
    sent: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    send_failures: int = 0


def writer_name() -> str:
    """This process among all workers and replicas: host, pid and a random part."""
    host = re.sub(r"[^A-Za-z0-9.-]+", "-", socket.gethostname()).strip(".-") or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


def _rows_of(relative: str, data: bytes) -> int:
    """Records in a batch file (0 for a request tally), from its Parquet footer."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not _holds_records(relative):
        return 0
    return int(pq.read_metadata(pa.BufferReader(data)).num_rows)


def _holds_records(relative: str) -> bool:
    return relative.startswith("day=")  # request tallies live under _requests/


class Capture:
    """The buffer, its flusher and its sender; ``record`` is all a request does."""

    def __init__(
        self,
        config: CaptureConfig,
        store: BatchStore,
        bands: RiskBands,
        tally: RequestTally | None = None,
        observer: CaptureObserver | None = None,
        writer: str | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.bands = bands
        self.tally = tally or RequestTally()
        self.observer = observer or _Unobserved()
        self.writer = writer or writer_name()
        self.outbox = Outbox(config.spill_dir)
        self.stats = CaptureStats()
        self._lock = threading.Lock()  # the buffer; held for an append or a swap only
        self._entries: list[Entry] = []
        self._buffered = 0
        self._full_since_flush = 0
        self._stats_lock = threading.Lock()
        self._flush_due = threading.Event()
        self._send_due = threading.Event()
        self._closing = threading.Event()
        self._retry_at = 0.0  # monotonic time before which the failing lake is left alone
        self._lake_down = False
        self._threads: list[threading.Thread] = []

    # -- the request path ----------------------------------------------------------------------
    def record(self, scored: Scored, endpoint: str) -> None:
        """Keep a reference to one answered request (sampled); never blocks, never raises."""
        if self.config.sample_rate < 1.0 and random.random() >= self.config.sample_rate:
            return  # sampled out: not a drop
        rows = len(scored.probabilities)
        with self._lock:
            room = self._buffered + rows <= self.config.max_buffered_records
            if room:
                self._entries.append(Entry(now_us(), endpoint, scored))
                self._buffered += rows
                self.stats.buffered += rows
                due = self._buffered >= self.config.flush_records
            else:
                self._full_since_flush += rows
        if not room:
            self._drop(rows, BUFFER_FULL)
            self._flush_due.set()
        elif due:
            self._flush_due.set()

    # -- threads -------------------------------------------------------------------------------
    def start(self) -> Capture:
        removed = self.outbox.remove_stale_temps()
        if removed:
            logger.info("capture: removed %d half-written spill files of a crash", removed)
        for name, loop in (
            ("capture-flusher", self._flush_loop),
            ("capture-sender", self._send_loop),
        ):
            thread = threading.Thread(target=loop, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        self._send_due.set()  # batches an earlier run left in the spill folder
        return self

    def _flush_loop(self) -> None:
        while not self._closing.is_set():
            self._flush_due.wait(self.config.flush_interval_s)
            self._flush_due.clear()
            if not self._closing.is_set():
                self.flush()

    def _send_loop(self) -> None:
        while not self._closing.is_set():
            backoff = self._retry_at - time.monotonic()
            if backoff > 0:  # the lake failed: leave it alone until the retry time
                self._closing.wait(backoff)
            else:
                self._send_due.wait(self.config.retry_interval_s)
            self._send_due.clear()
            if not self._closing.is_set():
                self.send()

    # -- flushing: buffer → spill folder -------------------------------------------------------
    def flush(self) -> int:
        """Write what is buffered (and the request tally) as batch files → records written."""
        with self._lock:
            entries, self._entries = self._entries, []
            rows, self._buffered = self._buffered, 0
            full, self._full_since_flush = self._full_since_flush, 0
        if full:
            logger.warning(
                "capture: %d records dropped since the last flush: the buffer was full (%d)",
                full,
                self.config.max_buffered_records,
            )
        files = []
        try:
            if entries:
                table = scored_table(entries, self.bands)
                files += self.store.batch_files(table, f"{self.writer}-{_batch_id()}")
            window = self.tally.drain()
            if window.counts:
                files += self.store.tally_files(window.table(), f"{self.writer}-{_batch_id()}")
        except Exception as error:  # never expected; the records are lost, so say how many
            logger.error(
                "capture: a batch of %d records could not be made (%s)", rows, type(error).__name__
            )
            self._drop(rows, FLUSH_FAILED)
            return 0
        spilled = sum(self._spill(file) for file in files)
        if files:
            self._send_due.set()
        return spilled

    def _spill(self, file: BatchFile) -> int:
        """One batch file into the spill folder, else straight to the lake → records kept."""
        records = file.rows if _holds_records(file.relative) else 0
        try:
            self.outbox.put(file.relative, file.data)
        except OSError as spill_error:
            try:
                self.store.put(file.relative, file.data)
            except Exception as error:
                logger.error(
                    "capture: %d records dropped: the spill folder refused them (%s) and so did"
                    " the lake (%s)",
                    records,
                    type(spill_error).__name__,
                    type(error).__name__,
                )
                self._drop(records, SPILL_FAILED)
                return 0
            self._count_sent(records)
            return records
        with self._stats_lock:
            self.stats.spilled += records
        return records

    # -- sending: spill folder → lake ----------------------------------------------------------
    def send(self) -> Sent:
        """Send every waiting batch file; on a failure, wait ``retry_interval_s`` to retry."""
        result = self.outbox.send(self.store, _rows_of)
        if result.rows:
            self._count_sent(result.rows)
        if result.error is None:
            if self._lake_down and result.files:
                logger.info("capture: the lake answers again; waiting batches sent")
            self._lake_down = False
            return result
        self._retry_at = time.monotonic() + self.config.retry_interval_s
        with self._stats_lock:
            self.stats.send_failures += 1
        self.observer.send_failed()
        if not self._lake_down:  # once per outage, not once per try
            self._lake_down = True
            logger.warning(
                "capture: the lake cannot be written (%s); batches wait in the spill folder and"
                " are sent again every %.0f s",
                redact_text(f"{type(result.error).__name__}: {result.error}", [])[:300],
                self.config.retry_interval_s,
            )
        return result

    def _count_sent(self, rows: int) -> None:
        with self._stats_lock:
            self.stats.sent += rows
        self.observer.sent(rows)

    def _drop(self, rows: int, reason: str) -> None:
        with self._stats_lock:
            self.stats.dropped[reason] += rows
        self.observer.dropped(rows, reason)

    # -- stopping ------------------------------------------------------------------------------
    def close(self, timeout_s: float = 10.0) -> int:
        """Flush, then send for at most ``timeout_s`` → batch files left in the spill folder."""
        deadline = time.monotonic() + timeout_s
        self._closing.set()
        self._flush_due.set()
        self._send_due.set()
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.flush()
        final = threading.Thread(target=self.send, name="capture-final-send", daemon=True)
        final.start()
        final.join(max(0.0, deadline - time.monotonic()))
        left = len(self.outbox.pending())
        if left:
            logger.warning(
                "capture: %d batch files wait in the spill folder %s; the next start sends them",
                left,
                self.config.spill_dir,
            )
        return left


def _batch_id() -> str:
    return secrets.token_hex(16)
