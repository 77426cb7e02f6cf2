"""The monitor's report: Markdown whose first line is the headline, a table of drift per column,
a summary of aggregates, the MLflow run (tagged with the champion's version, and the champion's
version tagged with the run) and the event raised past the limits. Aggregates only: counts,
shares and drift scores, never a record."""

from __future__ import annotations

from typing import Any

from fraud_detection.core.lineage import RunRecord
from fraud_detection.core.redact import redact_uri
from fraud_detection.core.tags import VersionTags, utc_now
from fraud_detection.steps.monitor import MonitorResult
from fraud_detection.steps.monitor_capacity import (
    capacity_markdown,
    capacity_metrics,
    capacity_payload,
    capacity_rows,
)
from fraud_detection.steps.monitor_groups import group_markdown, group_metrics, group_rows
from fraud_detection.steps.monitor_page import page
from fraud_detection.steps.ports import MonitorRegistry

EVENT_NAME = "fraud-detection.monitor.limits-passed"
REPORT_HTML = "monitor/report.html"
REPORT_MD = "monitor/report.md"


def drift_rows(result: MonitorResult) -> list[dict[str, Any]]:
    """One row per input and one for the score: method, score, threshold, drifted."""
    if result.drift is None:
        return []
    rows = [c.as_row() for c in result.drift.features]
    if result.drift.score is None:
        return rows
    return [*rows, {**result.drift.score.as_row(), "column": "probability (the score)"}]


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _volume(result: MonitorResult) -> str:
    t = result.traffic
    days = ", ".join(f"{d}: {n:,}" for d, n in sorted(t.by_day.items())) or "–"
    versions = ", ".join(f"v{v}: {n:,}" for v, n in sorted(t.by_version.items())) or "–"
    return (
        f"- Volume: {t.rows:,} records in {t.requests:,} requests, {t.applications:,} applications"
        f" (by day {days}; by version {versions})"
    )


def _reference(result: MonitorResult) -> str:
    ref = result.reference
    if ref is None:
        return "- Reference: none"
    return (
        f"- Reference: {ref.rows:,} rows sampled (seeded) from the {ref.rows_total:,} rows champion "
        f"v{ref.version} was trained and judged on ({', '.join(ref.partitions)}), scored by it"
    )


def _rejected(result: MonitorResult) -> str:
    r = result.rejections
    if r is None:
        return "- Rejected requests: not recorded (the service wrote no request tallies)"
    return f"- Rejected requests: {r.rejected:,} of {r.requests:,} ({r.rate:.1%})"


def _set_aside(result: MonitorResult) -> str:
    found = result.set_aside
    if not found:
        return "- Unreadable captured files: none"
    reasons = "; ".join(f"`{f.path}`: {f.reason}" for f in found[:5])
    more = f" and {len(found) - 5} more" if len(found) > 5 else ""
    return f"- Unreadable captured files set aside in quarantine: {len(found)} ({reasons}{more})"


def report_markdown(
    result: MonitorResult, *, tracking_uri: str, lake_path: str = "", floor: int = 100
) -> str:
    """The headline on the first line, then the window, the reference, volume, bands, drift."""
    lines = [
        result.headline,
        "",
        f"# Monitor {result.window}: champion v{result.champion_version or '–'}",
        "",
        f"**{'Past the limits: ' + '; '.join(result.passed) if result.alert else 'Within the limits.'}**",
        "",
        _volume(result),
        _reference(result),
        _rejected(result),
        _set_aside(result),
    ]
    if lake_path:
        lines.append(
            f"- Report: `{redact_uri(lake_path)}` and in MLflow at `{redact_uri(tracking_uri)}`"
        )
    if result.bands:
        lines += ["", "| risk band | reference | window |", "|---|---|---|"]
        lines += [
            f"| {b.band} | {_share(b.reference)} | {_share(b.current)} |" for b in result.bands
        ]
    lines += capacity_markdown(result.capacity)
    lines += group_markdown(result.groups, floor)
    rows = drift_rows(result)
    moved = [r for r in rows if r["drifted"]]
    if rows:
        lines += ["", f"Drift ({len(moved)} of {len(rows)} columns moved):", ""]
        lines += ["| column | method | score | threshold | moved |", "|---|---|---|---|---|"]
        lines += [
            f"| {r['column']} | {r['method']} | {r['score']:.4f} | {r['threshold']:g} | "
            f"{'**yes**' if r['drifted'] else 'no'} |"
            for r in sorted(rows, key=lambda r: (not r["drifted"], r["column"]))
        ]
    return "\n".join(lines) + "\n"


def summary(result: MonitorResult) -> dict[str, Any]:
    """The run's aggregates as one JSON value (the lake's ``summary.json``)."""
    drift = result.drift
    return {
        "headline": result.headline,
        "alert": result.alert,
        "passed": result.passed,
        "window": {"since": str(result.window.since), "until": str(result.window.until)},
        "champion_version": result.champion_version,
        "records": result.traffic.rows,
        "requests": result.traffic.requests,
        "applications": result.traffic.applications,
        "by_day": dict(result.traffic.by_day),
        "by_version": dict(result.traffic.by_version),
        "bands": [b.__dict__ for b in result.bands],
        "rejected": None if result.rejections is None else result.rejections.__dict__,
        "drifted_features": drift.drifted_features if drift else [],
        "score_drifted": drift.score_drifted if drift and drift.score else None,
        "set_aside": [f.__dict__ for f in result.set_aside],
        "drift": drift_rows(result),
        "groups": group_rows(result.groups),
        "capacity": capacity_rows(result.capacity),
    }


def metrics(result: MonitorResult) -> dict[str, float]:
    """The run's numbers for MLflow."""
    found = {
        "records": float(result.traffic.rows),
        "requests": float(result.traffic.requests),
        "applications": float(result.traffic.applications),
        "alert": float(result.alert),
        "set_aside_files": float(len(result.set_aside)),
    }
    if result.drift is not None:
        found["drifted_features"] = float(len(result.drift.drifted_features))
        found["drifted_share"] = result.drift.drifted_share
    if result.drift is not None and result.drift.score is not None:
        found["score_drift"] = result.drift.score.score
        found["score_drifted"] = float(result.drift.score.drifted)
    for band in result.bands:
        found[f"share_{band.band}"] = band.current
        if band.reference is not None:
            found[f"reference_share_{band.band}"] = band.reference
    if result.rejections is not None:
        found["rejected_rate"] = result.rejections.rate
    return {**found, **group_metrics(result.groups), **capacity_metrics(result.capacity)}


def record_monitor(
    registry: MonitorRegistry, result: MonitorResult, markdown: str, params: dict[str, str]
) -> str:
    """The report as an MLflow run of its own; the champion's version points at it → run id."""
    version = result.champion_version or ""
    tags = {
        "monitor": "true",
        "model_version": version,
        "window_since": str(result.window.since),
        "window_until": str(result.window.until),
        "alert": str(result.alert).lower(),
        "mlflow.note.content": result.headline,
    }
    run_id = registry.log_run(
        RunRecord(
            name=f"monitor-{result.window.until}",
            params=params,
            metrics=metrics(result),
            tags=tags,
            texts={REPORT_HTML: page(result), REPORT_MD: markdown},
        )
    )
    if version:
        registry.set_tags(version, VersionTags(monitor_run_id=run_id, monitored_at=utc_now()))
    return run_id


def alert_event(result: MonitorResult, model_name: str, run_id: str) -> dict[str, Any]:
    """The Prefect event past the limits (an automation can mail or page on it)."""
    return {
        "event": EVENT_NAME,
        "resource": {
            "prefect.resource.id": f"fraud-detection.model.{model_name}",
            "prefect.resource.name": model_name,
            "fraud-detection.version": result.champion_version or "",
        },
        "payload": {
            "headline": result.headline,
            "passed": result.passed,
            "window": {"since": str(result.window.since), "until": str(result.window.until)},
            "mlflow_run_id": run_id,
            "drifted_features": result.drift.drifted_features if result.drift else [],
            "groups_past_limit": [g.name for g in result.groups if g.passed],
            "capacity": capacity_payload(result.capacity),
        },
    }
