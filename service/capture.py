"""The capture as the service runs it: its counters in ``/metrics`` and the middleware that
tallies every answer of the scoring endpoints (for the monitor's rejected-request rate).

The counters are ``prometheus_client`` objects made in the worker (BentoML collects them across
workers from the folder it sets up before the service starts; ``bentoml.metrics`` is the
deprecated alias of the same client).
"""

from __future__ import annotations

import functools
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.config import Settings
from fraud_detection.serving.batches import RequestTally
from fraud_detection.serving.capture import DROP_REASONS, Capture, CaptureConfig

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


@functools.cache
def _counters() -> dict[str, Any]:
    """Made once per process, after BentoML has pointed the client at its multiprocess folder."""
    from prometheus_client import Counter

    dropped = Counter(
        "capture_records_dropped",
        "Scored records the capture could not keep, by reason",
        ["reason"],
    )
    for reason in DROP_REASONS:  # present at zero, so a dashboard can watch them
        dropped.labels(reason=reason)
    return {
        "sent": Counter("capture_records_sent", "Scored records written to the lake"),
        "dropped": dropped,
        "send_failures": Counter(
            "capture_send_failures", "Attempts to write waiting batches to the lake that failed"
        ),
    }


def open_capture(settings: Settings) -> Capture:
    """The worker's capture on the configured lake, started."""
    return Capture(
        CaptureConfig.from_settings(settings),
        ScoredStore(_lake(settings)),
        settings.risk_bands(),
        tally=REQUEST_TALLY,
        observer=PrometheusCounts(),
    ).start()


def _lake(settings: Settings) -> Lake:
    if not settings.lake.startswith("s3://"):
        return Lake.from_settings(settings)
    return Lake(settings.lake, {**settings.storage_options(), **FAIL_FAST_S3})


class RequestTallyMiddleware:
    """Counts each answer of ``/predict`` and ``/score`` by status, a 4xx of any layer included;
    a rejected request is counted there and never captured as a score."""

    def __init__(self, app: ASGIApp, paths: tuple[str, ...] = ("/predict", "/score")) -> None:
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
