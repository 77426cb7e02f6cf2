"""The capture as the service runs it: its counters in ``/metrics`` and the middleware that
tallies every answer of the scoring endpoints (for the monitor's rejected-request rate).

The counters are ``prometheus_client`` objects made in the worker (BentoML collects them across
workers from the folder it sets up before the service starts; ``bentoml.metrics`` is the
deprecated alias of the same client).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import subprocess
import sys
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.config import Settings
from fraud_detection.serving.batches import RequestTally
from fraud_detection.serving.capture import Capture
from fraud_detection.serving.capture_config import (
    DROP_REASONS,
    ERROR_KINDS,
    CaptureConfig,
    Companion,
)

logger = logging.getLogger("fraud_detection.serving")

# One per worker process: the middleware counts into it, the worker's capture drains it.
REQUEST_TALLY = RequestTally()
# A write to an unreachable S3 fails within seconds rather than after botocore's and s3fs's
# retries (about 11 s): the capture has a retry loop of its own, and a graceful stop a deadline.
FAIL_FAST_S3 = {
    "config_kwargs": {"connect_timeout": 3, "read_timeout": 30, "retries": {"max_attempts": 1}}
}


class PrometheusCounts:
    """The capture's counts as Prometheus counters: records sent to the lake, records dropped
    (by reason: never silently), failed attempts to write the lake."""

    def __init__(self) -> None:
        self.counters = _counters()

    def sent(self, records: int) -> None:
        self.counters["sent"].inc(records)

    def dropped(self, records: int, reason: str) -> None:
        self.counters["dropped"].labels(reason=reason).inc(records)

    def send_failed(self) -> None:
        self.counters["send_failures"].inc()

    def error(self, kind: str) -> None:
        self.counters["errors"].labels(kind=kind).inc()

    def recovered(self, records: int, torn: int) -> None:
        self.counters["recovered"].inc(records)
        self.counters["torn"].inc(torn)

    def quarantined(self) -> None:
        self.counters["quarantined"].inc()


@functools.cache
def _counters() -> dict[str, Any]:
    """Made once per process, after BentoML has pointed the client at its multiprocess folder."""
    from prometheus_client import Counter

    dropped = Counter(
        "capture_records_dropped",
        "Scored records the capture could not keep, by reason",
        ["reason"],
    )
    errors = Counter(
        "capture_errors", "Errors in the capture's threads, by kind (each retried)", ["kind"]
    )
    for reason in DROP_REASONS:  # present at zero, so a dashboard can watch them
        dropped.labels(reason=reason)
    for kind in ERROR_KINDS:
        errors.labels(kind=kind)
    return {
        "errors": errors,
        "recovered": Counter(
            "capture_records_recovered",
            "Scored records recovered at start from the journal of a worker that died",
        ),
        "torn": Counter(
            "capture_journal_torn_records",
            "Journal records cut short by a crash mid-write: skipped at recovery",
        ),
        "quarantined": Counter(
            "capture_files_quarantined",
            "Spill files that were not readable batches: set aside, never sent to the lake",
        ),
        "sent": Counter("capture_records_sent", "Scored records written to the lake"),
        "dropped": dropped,
        "send_failures": Counter(
            "capture_send_failures", "Attempts to write waiting batches to the lake that failed"
        ),
    }


def open_capture(settings: Settings) -> Capture:
    """The worker's capture on the configured lake, started (with its own process, unless
    ``capture_own_process`` is off)."""
    companion = CaptureProcess() if settings.capture_own_process else None
    return build_capture(settings, companion).start()


def build_capture(settings: Settings, companion: Companion | None) -> Capture:
    return Capture(
        CaptureConfig.from_settings(settings),
        ScoredStore(_lake(settings)),
        settings.risk_bands(),
        tally=REQUEST_TALLY,
        observer=PrometheusCounts(),
        companion=companion,
    )


class CaptureProcess:
    """A worker's handle on its capture process (:mod:`service.capture_process`): started with
    the capture, started again if it exits, told to finish by closing its standard input."""

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # The worker's import path, so the process finds the same packages however it was served.
        path = os.pathsep.join(entry for entry in sys.path if entry)
        self.child = subprocess.Popen(
            [sys.executable, "-m", "service.capture_process"],
            stdin=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
        )

    def ensure_running(self) -> None:
        """Start it again if it exited; raises to have the restart counted and logged."""
        if self.child is None or self.child.poll() is None:
            return
        status = self.child.returncode
        self.start()
        raise RuntimeError(f"the capture process exited with status {status}; started again")

    def stop(self, timeout_s: float) -> None:
        process = self.child
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            logger.warning(
                "capture: the capture process still sends after %.0f s; it stops on its own",
                timeout_s,
            )


_DEGRADED: list[bool] = [False]  # this worker's last answer, to log each change once


def capture_degraded(capture: Capture | None) -> bool:
    """Is the capture falling behind (batches piling up in the spill folder)? Logged when it
    starts and when it ends."""
    degraded = capture is not None and capture.degraded
    if degraded != _DEGRADED[0]:
        _DEGRADED[0] = degraded
        if degraded:
            logger.warning(
                "capture degraded: %d batch files wait in the spill folder; /readyz answers"
                " not ready until the lake takes them",
                capture.waiting_files if capture is not None else 0,
            )
        else:
            logger.info("capture no longer degraded: the spill folder is draining")
    return degraded


def _lake(settings: Settings) -> Lake:
    if not settings.lake.startswith("s3://"):
        return Lake.from_settings(settings)
    return Lake(settings.lake, {**settings.storage_options(), **FAIL_FAST_S3})


class RequestTallyMiddleware:
    """Counts each answer of ``/predict``, ``/score`` and ``/explain`` by status, a 4xx of any layer included;
    a rejected request is counted there and never captured as a score."""

    def __init__(
        self, app: ASGIApp, paths: tuple[str, ...] = ("/predict", "/score", "/explain")
    ) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if scope["type"] != "http" or path not in self.paths:
            await self.app(scope, receive, send)
            return

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                REQUEST_TALLY.count(path, message["status"])
            await send(message)

        await self.app(scope, receive, counted)
