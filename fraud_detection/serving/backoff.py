"""Exponential backoff between tries of a failing step, and each kind of error logged once."""

from __future__ import annotations

import logging
import time

from fraud_detection.core.redact import redact_text


class Backoff:
    """After n failures in a row, wait ``first_s * 2**(n-1)`` (at most ``max_s``); a success
    starts over."""

    def __init__(self, first_s: float, max_s: float) -> None:
        self.first_s = first_s
        self.max_s = max(max_s, first_s)
        self.failures = 0
        self.retry_at = 0.0  # monotonic time before which the failing step is left alone

    def failed(self) -> float:
        """Count a failure → seconds to wait before the next try."""
        self.failures += 1
        delay = min(self.max_s, self.first_s * 2.0 ** min(self.failures - 1, 30))
        self.retry_at = time.monotonic() + delay
        return delay

    def succeeded(self) -> None:
        self.failures = 0
        self.retry_at = 0.0

    def wait_s(self) -> float:
        return max(0.0, self.retry_at - time.monotonic())


class LogOnce:
    """Logs the first error of each kind with its cause; the rest are only counted."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self._seen: set[str] = set()

    def __call__(self, kind: str, what: str, error: BaseException) -> None:
        if kind in self._seen:
            return
        self._seen.add(kind)
        cause = redact_text(f"{type(error).__name__}: {error}", [])[:300]
        self.logger.warning(
            "capture: %s (%s); counted in capture_errors_total{kind=%r}, tried again with"
            " backoff, not logged again",
            what,
            cause,
            kind,
        )
