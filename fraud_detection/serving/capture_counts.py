"""The capture's counts, in one place: its stats, its observer (``/metrics``), its log."""

from __future__ import annotations

import logging
import threading

from fraud_detection.serving.backoff import LogOnce
from fraud_detection.serving.capture_config import CaptureObserver, CaptureStats, Unobserved


class CaptureCounts:
    """Counts what the capture did and what went wrong, for its stats and its observer; each
    kind of error is logged once with its cause."""

    def __init__(self, logger: logging.Logger, observer: CaptureObserver | None = None) -> None:
        self.stats = CaptureStats()
        self.observer = observer or Unobserved()
        self._lock = threading.Lock()
        self._log_once = LogOnce(logger)

    def sent(self, rows: int) -> None:
        with self._lock:
            self.stats.sent += rows
        self.observer.sent(rows)

    def spilled(self, rows: int) -> None:
        with self._lock:
            self.stats.spilled += rows

    def dropped(self, rows: int, reason: str) -> None:
        with self._lock:
            self.stats.dropped[reason] += rows
        self.observer.dropped(rows, reason)

    def send_failed(self) -> None:
        with self._lock:
            self.stats.send_failures += 1
        self.observer.send_failed()

    def quarantined(self) -> None:
        with self._lock:
            self.stats.quarantined += 1
        self.observer.quarantined()

    def recovered(self, records: int, torn: int) -> None:
        with self._lock:
            self.stats.recovered += records
            self.stats.torn += torn
        self.observer.recovered(records, torn)

    def error(self, kind: str, what: str, error: BaseException) -> None:
        """Count an error of this kind; log it if it is the first of its kind."""
        self.count_error(kind)
        self._log_once(kind, what, error)

    def count_error(self, kind: str) -> None:
        with self._lock:
            self.stats.errors[kind] += 1
        self.observer.error(kind)
