"""The monitor's side of the lake: its reports (``monitoring/day=YYYY-MM-DD/``) and the service's
request tallies (``scored/_requests/day=…/``, read for the rejected-request rate).

A day's report is the latest monitor run of that day: writing it again replaces ``report.html``
and ``summary.json`` (a report is derived from the captured scores, never a source of truth).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.unreadable import read_or_set_aside
from fraud_detection.core.monitoring import Rejections, Window
from fraud_detection.core.scored import (
    DAY_KEY,
    REQUESTS,
    REQUESTS_DIR,
    STATUS,
    SetAside,
    request_tally_schema,
)

MONITORING_DIR = "monitoring"
REPORT_NAME = "report.html"
SUMMARY_NAME = "summary.json"


class MonitoringStore:
    """Where a day's monitor report and its summary live in the lake."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.root = f"{lake.root}/{MONITORING_DIR}"

    def day_dir(self, day: str) -> str:
        return f"{self.root}/{DAY_KEY}={day}"

    def write(self, day: str, html: str, summary: Mapping[str, Any]) -> str:
        """Write (or replace) the day's report and summary → the report's path as a user writes it."""
        directory = self.day_dir(day)
        self.lake.fs.makedirs(directory, exist_ok=True)
        self.lake.fs.pipe_file(f"{directory}/{SUMMARY_NAME}", json.dumps(summary).encode())
        self.lake.fs.pipe_file(f"{directory}/{REPORT_NAME}", html.encode())
        return self.lake.display(f"{directory}/{REPORT_NAME}")

    def read_summary(self, day: str) -> dict[str, Any] | None:
        path = f"{self.day_dir(day)}/{SUMMARY_NAME}"
        if not self.lake.fs.exists(path):
            return None
        found: dict[str, Any] = json.loads(self.lake.fs.cat_file(path))
        return found


class RequestTallies:
    """The service's per-flush counts of requests by endpoint and status (no request contents)."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.root = f"{lake.root}/{REQUESTS_DIR}"
        self.set_aside: list[SetAside] = []  # unreadable tally files moved to quarantine

    def rejections(self, window: Window) -> Rejections | None:
        """4xx requests among all requests of the window's days; None if nothing was recorded."""
        import pyarrow.compute as pc

        self.lake.fs.invalidate_cache()
        files = []
        for day in window.days():
            files += self.lake.fs.glob(f"{self.root}/{DAY_KEY}={day.isoformat()}/*.parquet")
        if not files:
            return None
        table, aside = read_or_set_aside(
            self.lake, sorted(files), request_tally_schema(), [STATUS, REQUESTS]
        )
        self.set_aside.extend(aside)
        status = table[STATUS]
        refused = pc.and_(pc.greater_equal(status, 400), pc.less(status, 500))
        rejected = pc.sum(pc.filter(table[REQUESTS], refused)).as_py() or 0
        total = pc.sum(table[REQUESTS]).as_py() or 0
        return Rejections(int(rejected), int(total))
