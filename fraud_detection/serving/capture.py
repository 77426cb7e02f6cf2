"""Capture of every score the service gives, written to the lake off the request path.

    request ──append──► buffer ──flusher thread──► spill folder ──sender thread──► lake scored/
       │      (O(1))            (N records or T s:           (batch files, exact    (create if
       │                         Arrow → Parquet)             lake bytes)            absent)
       └──append──► journal segment (local disk; removed once its batch is in the spill folder)

- A request appends references to what it already has (matrix, ids, probabilities, the model
  that answered) to a bounded buffer, and the same as one frame to a journal segment on local
  disk (one ``write``: no Arrow, no network, no wait). Beyond the bound: dropped and counted.
- The flusher turns the buffer into batch files in the spill folder (else the lake; else
  dropped and counted), then deletes the segment: a crash loses at most the record being
  written; the next start recovers the rest (:mod:`fraud_detection.serving.recovery`).
- With a companion (the service's capture process) the flusher only seals the segment; the
  companion makes its batch and sends it, off the worker's GIL.
- The sender moves spill files to the lake, exactly once (see the outbox).
- No error stops a thread: each is counted by kind, logged once, tried again with backoff.
- ``close`` flushes and sends what it can in its time; the rest waits for the next start.

A hot swap needs nothing here: every entry carries the snapshot that answered it. Logs carry
counts only; records go nowhere but the spill folder and the lake.
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from fraud_detection.core.bands import RiskBands
from fraud_detection.serving import batches, journal
from fraud_detection.serving.capture_config import (
    BUFFER_FULL,
    COMPANION,
    FLUSH,
    FLUSH_FAILED,
    JOURNAL_WRITE,
    RECOVERY,
    SEND,
    BatchStore,
    CaptureConfig,
    CaptureObserver,
    CaptureStats,
    Companion,
    writer_name,
)
from fraud_detection.serving.capture_counts import CaptureCounts
from fraud_detection.serving.outbox import Outbox, Sent
from fraud_detection.serving.recovery import Recovered, recover
from fraud_detection.serving.sender import Sender
from fraud_detection.serving.spill import SpillWriter

if TYPE_CHECKING:
    from fraud_detection.adapters.scored import BatchFile

logger = logging.getLogger("fraud_detection.serving")


class Capture:
    """The buffer and its journal, the flusher and the sender; ``record`` is all a request does."""

    def __init__(
        self,
        config: CaptureConfig,
        store: BatchStore,
        bands: RiskBands,
        tally: batches.RequestTally | None = None,
        observer: CaptureObserver | None = None,
        companion: Companion | None = None,
    ) -> None:
        self.config = config
        self.companion = companion
        self.store = store
        self.bands = bands
        self.tally = tally or batches.RequestTally()
        self.counts = CaptureCounts(logger, observer)
        self.writer = config.writer or writer_name()
        self.outbox = Outbox(config.spill_dir, config.journal_fsync)
        self.journal_dir = config.spill_dir / journal.JOURNAL_DIR
        self.journal = journal.JournalWriter(self.journal_dir, self.writer, config.journal_fsync)
        self.sender = Sender(config, self.outbox, store, self.counts)
        self.spill = SpillWriter(self.outbox, store, self.counts)
        self._request_ids = batches.RequestIds()
        self._lock = threading.Lock()  # the buffer and its segment; held for an append or a swap
        self._entries: list[batches.Entry] = []
        self._buffered = 0
        self._full_since_flush = 0
        self._flush_due = threading.Event()
        self._send_due = threading.Event()
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def stats(self) -> CaptureStats:
        return self.counts.stats

    @property
    def waiting_files(self) -> int:
        """Batch files in the spill folder (and, with a companion, segments sealed for it)."""
        if self.companion is None:
            return self.sender.waiting_files  # as of the sender's last pass
        sealed = [path for path in journal.segments(self.journal_dir) if journal.is_sealed(path)]
        return len(self.outbox.pending()) + len(sealed)

    @property
    def degraded(self) -> bool:
        """Batches pile up in the spill folder: the lake is not taking them."""
        return self.waiting_files >= self.config.degraded_spill_files

    # -- the request path ----------------------------------------------------------------------
    def record(self, scored: batches.Answer, endpoint: str) -> None:
        """Keep one answered request (sampled) in the buffer and the journal; never raises."""
        if self.config.sample_rate < 1.0 and random.random() >= self.config.sample_rate:
            return  # sampled out: not a drop
        rows = len(scored.probabilities)
        entry = batches.Entry(batches.now_us(), endpoint, scored, self._request_ids())
        journal_error: Exception | None = None
        with self._lock:
            room = self._buffered + rows <= self.config.max_buffered_records
            if room:
                journal_error = self.journal.append(entry, rows)
                if journal_error is not None or self.companion is None:
                    self._entries.append(entry)  # else the sealed segment is its batch
                self._buffered += rows
                self.counts.stats.buffered += rows
                due = self._buffered >= self.config.flush_records
            else:
                self._full_since_flush += rows
        if journal_error is not None:  # kept in memory all the same: only a crash would lose it
            self.counts.error(JOURNAL_WRITE, "a request could not be journaled", journal_error)
        if not room:
            self.counts.dropped(rows, BUFFER_FULL)
            self._flush_due.set()
        elif due:
            self._flush_due.set()

    # -- threads -------------------------------------------------------------------------------
    def start(self) -> Capture:
        removed = self.outbox.remove_stale_temps()
        if removed:
            logger.info("capture: removed %d half-written spill files of a crash", removed)
        loops = [("capture-flusher", self._flush_loop)]
        if self.companion is None:
            loops.append(("capture-sender", self._send_loop))
        else:
            self.companion.start()
        for name, loop in loops:
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
                self._guarded(FLUSH, "the flusher failed", self.flush)
                if self.companion is not None:
                    self._guarded(
                        COMPANION, "the capture process stopped", self.companion.ensure_running
                    )

    def _send_loop(self) -> None:
        # Sealed segments appear at any time: looked for at least once per flush interval.
        idle_s = min(self.config.retry_interval_s, self.config.flush_interval_s)
        while not self._closing.is_set():
            self._guarded(RECOVERY, "a journal segment could not be made a batch yet", self.recover)
            backoff = self.sender.backoff.wait_s()
            if backoff > 0:  # the lake failed: leave it alone until the retry time
                self._closing.wait(backoff)
            else:
                self._send_due.wait(idle_s)
            self._send_due.clear()
            if not self._closing.is_set() and not self._guarded(
                SEND, "the sender failed", self.send
            ):
                self.sender.backoff.failed()

    def _guarded(self, kind: str, what: str, step: Callable[[], object]) -> bool:
        """Run a thread's step; an error is counted and logged, never the end of the thread."""
        try:
            step()
        except Exception as error:
            self.counts.error(kind, what, error)
            return False
        return True

    # -- flushing: buffer → spill folder -------------------------------------------------------
    def flush(self) -> int:
        """Write what is buffered (and the request tally) as batch files → records written; then
        delete the journal segment that held the same records."""
        with self._lock:
            entries, self._entries = self._entries, []
            rows, self._buffered = self._buffered, 0
            full, self._full_since_flush = self._full_since_flush, 0
            segment = self.journal.take()
        if segment is not None and self.companion is not None:
            self._hand_over(segment)
            segment = None  # its batch is the companion's to make
        if full:
            logger.warning(
                "capture: %d records dropped since the last flush: the buffer was full (%d)",
                full,
                self.config.max_buffered_records,
            )
        name = segment.name if segment is not None else f"{self.writer}-{_batch_id()}"
        files = []
        try:
            if entries:
                files += self._batch_files(entries, name)
            window = self.tally.drain()
            if window.counts:
                files += self.store.tally_files(window.table(), f"{self.writer}-{_batch_id()}")
        except Exception as error:  # never expected; the records are lost, so say how many
            self.counts.error(FLUSH, f"a batch of {rows} records could not be made", error)
            self.counts.dropped(rows, FLUSH_FAILED)
            files = []
        spilled = sum(self.spill.write(file) for file in files)
        if segment is not None:
            segment.remove()  # its records are in the spill folder, in the lake, or counted lost
        if files:
            self._send_due.set()
        return spilled

    def _hand_over(self, segment: journal.Segment) -> None:
        try:
            segment.seal()
        except Exception as error:  # still unlocked now: taken as a dead worker's would be
            self.counts.error(JOURNAL_WRITE, "a journal segment could not be sealed", error)

    def _batch_files(self, entries: Sequence[batches.Entry], name: str) -> list[BatchFile]:
        return self.store.batch_files(batches.scored_table(entries, self.bands), name)

    def recover(self) -> Recovered:
        """Turn what dead workers left in the journal into batches waiting to be sent."""
        result = recover(self.journal_dir, self._batch_files, self.spill.keep)
        if result.sealed_records:  # batches to send (counted as spilled by the keep)
            self._send_due.set()
        if result.segments:
            self.counts.recovered(result.records, result.torn)
            logger.info(
                "capture: %d records of a stopped worker recovered from its journal (%d torn"
                " records at a segment's end skipped)",
                result.records,
                result.torn,
            )
            self._send_due.set()
        return result

    # -- sending: spill folder → lake ----------------------------------------------------------
    def send(self) -> Sent:
        """Send every waiting batch file; on a failure, wait (with backoff) to retry."""
        return self.sender.send()

    # -- stopping ------------------------------------------------------------------------------
    def close(self, timeout_s: float = 10.0) -> int:
        """Flush, then send for at most ``timeout_s`` → batch files left in the spill folder."""
        deadline = time.monotonic() + timeout_s
        self._closing.set()
        self._flush_due.set()
        self._send_due.set()
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._guarded(FLUSH, "the flusher failed", self.flush)
        if self.companion is not None:  # it batches and sends what was just sealed
            self.companion.stop(max(0.0, deadline - time.monotonic()))
            return len(self.outbox.pending())
        final = threading.Thread(target=self._final_send, name="capture-final-send", daemon=True)
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

    def _final_send(self) -> None:
        self._guarded(RECOVERY, "a journal segment could not be made a batch yet", self.recover)
        self._guarded(SEND, "the sender failed", self.send)


def _batch_id() -> str:
    return secrets.token_hex(16)
