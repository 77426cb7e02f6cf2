"""The monitor's HTML page: the headline, the counts and rates, and — above the privacy floor —
each column's drift test (method, score, threshold, moved) and each group's share flagged. Aggregates only, drawn here rather
than by Evidently, whose page prints each column's minimum and maximum: on a small window that is
one applicant's value."""

from __future__ import annotations

import html

from fraud_detection.steps.monitor import MonitorResult
from fraud_detection.steps.monitor_capacity import capacity_rows
from fraud_detection.steps.monitor_groups import group_rows

STYLE = (
    "body{font:14px sans-serif;margin:24px;max-width:60em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
    ".alert{color:#a00;font-weight:bold}"
)


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _counts(result: MonitorResult) -> list[list[str]]:
    t, r = result.traffic, result.rejections
    rows = [
        ["records scored", f"{t.rows:,}"],
        ["requests", f"{t.requests:,}"],
        ["applications", f"{t.applications:,}"],
        *([f"records on {day}", f"{n:,}"] for day, n in sorted(t.by_day.items())),
        *([f"records scored by v{v}", f"{n:,}"] for v, n in sorted(t.by_version.items())),
        ["unreadable files set aside", f"{len(result.set_aside):,}"],
    ]
    if r is not None:
        rows.append(["rejected requests", f"{r.rejected:,} of {r.requests:,} ({r.rate:.1%})"])
    return rows


def _drift(result: MonitorResult) -> str:
    drift = result.drift
    if drift is None:
        return ""
    columns = [*drift.features, *([drift.score] if drift.score else [])]
    rows = [
        [c.column, c.method, f"{c.score:.4f}", f"{c.threshold:g}", "yes" if c.drifted else "no"]
        for c in sorted(columns, key=lambda c: (not c.drifted, c.column))
    ]
    return "<h2>Drift per column</h2>" + _table(
        ["column", "method", "score", "threshold", "moved"], rows
    )


def _groups(result: MonitorResult) -> str:
    rows = group_rows(result.groups)
    if not rows:
        return ""
    return "<h2>Who is flagged, group by group</h2>" + _table(
        list(rows[0]), [list(row.values()) for row in rows]
    )


def _capacity(result: MonitorResult) -> str:
    rows, watch = capacity_rows(result.capacity), result.capacity
    if watch is None:
        return ""
    return (
        "<h2>Flags against the team's capacity</h2>"
        f"<p>{html.escape(watch.in_words())}.</p>"
        + _table(list(rows[0]), [list(row.values()) for row in rows])
    )


def page(result: MonitorResult) -> str:
    """The report as a self-contained HTML page of aggregates."""
    bands = [
        [b.band, "–" if b.reference is None else f"{b.reference:.1%}", f"{b.current:.1%}"]
        for b in result.bands
    ]
    parts = [
        f"<p class='{'alert' if result.alert else ''}'>{html.escape(result.headline)}</p>",
        f"<h1>Monitor {html.escape(str(result.window))}: "
        f"champion v{html.escape(result.champion_version or '–')}</h1>",
        _table(["", ""], _counts(result)),
        "<h2>Risk bands</h2>" + _table(["band", "reference", "window"], bands) if bands else "",
        _capacity(result),
        _groups(result),
        _drift(result),
    ]
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Monitor</title>"
        f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>"
    )
