"""How many of the window's applications were flagged, against what the fraud team can
investigate.

No label is needed: every captured record carries the decision it was served with (its score
against the serving version's threshold), and every record of the window is counted, not a
sample. The window's share flagged is set against the capacity (``review_capacity``, or
``review_capacity_per_week`` as flags in the window's days), and each week of the window against
its own capacity. Past ``monitor_max_capacity_gap`` either way the monitor's event fires: more
flags than the team can investigate leave applicants waiting, fewer let frauds through that the
team had time for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from fraud_detection.core.capacity import DAYS_A_WEEK, capacity_share
from fraud_detection.core.monitoring import Traffic, Window
from fraud_detection.steps.capacity import ReviewCapacitySettings


class CapacityWatchSettings(ReviewCapacitySettings, Protocol):
    """The team's capacity and how far the window's share flagged may stray from it."""

    @property
    def monitor_max_capacity_gap(self) -> float: ...


@dataclass(frozen=True)
class CapacityPeriod:
    """A week of the window (the first may be shorter): its records, flags and capacity."""

    since: date
    until: date
    records: int
    flagged: int
    capacity: float  # flags the team can investigate in these days

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    @property
    def share(self) -> float:
        return self.flagged / self.records if self.records else 0.0


@dataclass(frozen=True)
class CapacityWatch:
    """The window's share flagged against the capacity, and the limit on the gap."""

    capacity: float  # the capacity as a share of the window's records
    records: int
    flagged: int
    limit: float  # largest gap, in share points either way, within the limits
    per_week: int | None  # the capacity as a count a week, when it is set that way
    weeks: tuple[CapacityPeriod, ...] = ()

    @property
    def share(self) -> float:
        return self.flagged / self.records if self.records else 0.0

    @property
    def gap(self) -> float:
        """Share flagged minus capacity: above zero, more flags than the team can take."""
        return self.share - self.capacity

    @property
    def past_limit(self) -> bool:
        return abs(self.gap) > self.limit

    def _capacity_words(self) -> str:
        if self.per_week is None:
            return f"the capacity of {self.capacity:.1%}"
        return f"the capacity of {self.per_week:,} a week ({self.capacity:.1%} of this traffic)"

    def in_words(self) -> str:
        """The sentence of the report, the headline and the event."""
        side = "more" if self.gap > 0 else "fewer"
        judged = (
            f"past the limit of ±{self.limit * 100:.1f} points"
            if self.past_limit
            else f"within ±{self.limit * 100:.1f} points"
        )
        return (
            f"{self.flagged:,} of {self.records:,} records flagged ({self.share:.1%}) against "
            f"{self._capacity_words()}: {abs(self.gap) * 100:.1f} points {side}, {judged}"
        )

    def passed(self) -> list[str]:
        return [self.in_words()] if self.past_limit else []


def _weeks(
    window: Window, traffic: Traffic, capacity: float, per_week: int | None
) -> list[CapacityPeriod]:
    """Seven-day blocks ending on the window's last day (the first block may be shorter)."""
    periods = []
    until = window.until
    while until >= window.since:
        since = max(window.since, until - timedelta(days=6))
        days = [d.isoformat() for d in Window(since, until).days()]
        records = sum(traffic.by_day.get(d, 0) for d in days)
        flagged = sum(traffic.flagged_by_day.get(d, 0) for d in days)
        allowed = capacity * records if per_week is None else per_week * len(days) / DAYS_A_WEEK
        periods.append(CapacityPeriod(since, until, records, flagged, allowed))
        until = since - timedelta(days=1)
    return periods[::-1]


def watch_capacity(
    window: Window, traffic: Traffic, settings: CapacityWatchSettings
) -> CapacityWatch | None:
    """The window's flags against the capacity (None: no capacity set, or nothing scored)."""
    per_week = settings.review_capacity_per_week if settings.review_capacity is None else None
    if traffic.rows == 0 or (settings.review_capacity is None and per_week is None):
        return None
    days = float(len(window.days()))
    share = capacity_share(settings.review_capacity, per_week, traffic.rows, days)
    assert share is not None
    return CapacityWatch(
        capacity=share,
        records=traffic.rows,
        flagged=sum(traffic.flagged_by_day.values()),
        limit=settings.monitor_max_capacity_gap,
        per_week=per_week,
        weeks=tuple(_weeks(window, traffic, share, per_week)),
    )


def capacity_rows(watch: CapacityWatch | None) -> list[dict[str, str]]:
    """The ``monitor-capacity`` table: the whole window, then each week."""
    if watch is None:
        return []
    whole = {
        "period": "the window",
        "records": f"{watch.records:,}",
        "flagged": f"{watch.flagged:,}",
        "share flagged": f"{watch.share:.1%}",
        "capacity": f"{watch.capacity * watch.records:,.0f} ({watch.capacity:.1%})",
        "gap": f"{watch.gap * 100:+.1f} points" + (" past the limit" if watch.past_limit else ""),
    }
    weeks = [
        {
            "period": f"{w.since} to {w.until} ({w.days} days)",
            "records": f"{w.records:,}",
            "flagged": f"{w.flagged:,}",
            "share flagged": f"{w.share:.1%}",
            "capacity": f"{w.capacity:,.0f}",
            "gap": f"{w.flagged - w.capacity:+,.0f} flags",
        }
        for w in watch.weeks
    ]
    return [whole, *weeks]


def capacity_markdown(watch: CapacityWatch | None) -> list[str]:
    """The report's section: the sentence first, then the table."""
    if watch is None:
        return []
    rows = capacity_rows(watch)
    lines = ["", f"Flags against the team's capacity: {watch.in_words()}.", ""]
    lines += ["| " + " | ".join(rows[0]) + " |", "|---|---|---|---|---|---|"]
    return lines + ["| " + " | ".join(row.values()) + " |" for row in rows]


def capacity_metrics(watch: CapacityWatch | None) -> dict[str, float]:
    """``capacity_share``, ``flagged_share``, ``capacity_gap`` … for MLflow."""
    if watch is None:
        return {}
    found = {
        "capacity_share": watch.capacity,
        "flagged_share": watch.share,
        "flagged_records": float(watch.flagged),
        "capacity_gap": watch.gap,
        "capacity_past_limit": float(watch.past_limit),
    }
    if watch.per_week is not None:
        found["capacity_per_week"] = float(watch.per_week)
    return found


def capacity_payload(watch: CapacityWatch | None) -> dict[str, float | str] | None:
    """What the event carries of it (None without a capacity)."""
    if watch is None:
        return None
    return {
        "share_flagged": round(watch.share, 6),
        "capacity": round(watch.capacity, 6),
        "gap": round(watch.gap, 6),
        "limit": watch.limit,
        "in_words": watch.in_words(),
    }
