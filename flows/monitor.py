"""The daily monitor as a Prefect flow: each task is a thin wrapper around a domain step."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from prefect.runtime import flow_run

from fraud_detection.adapters.compaction import Compactor
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.monitoring import MonitoringStore, RequestTallies
from fraud_detection.adapters.registry import Registry
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings, get_settings
from fraud_detection.core.monitoring import Rejections, Window
from fraud_detection.core.scored import Compacted
from fraud_detection.steps import monitor as steps
from fraud_detection.steps import monitor_page
from fraud_detection.steps import monitor_report as report
from fraud_detection.steps.monitor import MonitorResult, NoReference, Reference, WindowData
from fraud_detection.steps.monitor_capacity import capacity_rows
from fraud_detection.steps.monitor_groups import group_rows

retried_io: dict[str, Any] = {
    "retries": 2,
    "retry_delay_seconds": [2, 10],
    "cache_policy": NO_CACHE,
}


@task(**retried_io)
def read_window(
    lake: Lake, settings: Settings, window: Window
) -> tuple[WindowData, Rejections | None]:
    store, tallies = ScoredStore(lake), RequestTallies(lake)
    data = steps.read_window(
        store, window, sample_rows=settings.monitor_sample_rows, seed=settings.seed
    )
    rejections = tallies.rejections(window)
    # Unreadable files were moved to quarantine: the report counts them.
    return replace(data, set_aside=(*store.set_aside, *tallies.set_aside)), rejections


@task(**retried_io)
def build_reference(lake: Lake, registry: Registry, settings: Settings) -> Reference | NoReference:
    return steps.build_reference(lake, registry, settings)


@task(cache_policy=NO_CACHE)
def compute_drift(
    data: WindowData,
    reference: Reference | NoReference,
    rejections: Rejections | None,
    settings: Settings,
) -> MonitorResult:
    return steps.compare(data, reference, rejections, settings)


@task(**retried_io)
def write_reports(
    lake: Lake, registry: Registry, settings: Settings, result: MonitorResult
) -> dict[str, str]:
    """The report to the lake and MLflow, and as Prefect artifacts (aggregates only)."""
    path = MonitoringStore(lake).write(
        str(result.window.until), monitor_page.page(result), report.summary(result)
    )
    markdown = report.report_markdown(
        result,
        tracking_uri=settings.tracking_uri,
        lake_path=path,
        floor=settings.monitor_min_records,
    )
    params = {
        "window_days": str((result.window.until - result.window.since).days + 1),
        "reference_rows": str(settings.monitor_reference_rows),
        "sample_rows": str(settings.monitor_sample_rows),
        "max_drifted_share": str(settings.monitor_max_drifted_share),
        "alert_on_score_drift": str(settings.monitor_alert_on_score_drift),
        "max_rejected_rate": str(settings.monitor_max_rejected_rate),
        "max_group_shift": str(settings.monitor_max_group_shift),
        "max_capacity_gap": str(settings.monitor_max_capacity_gap),
    }
    run_id = report.record_monitor(registry, result, markdown, params)
    create_markdown_artifact(
        key="monitor-report", markdown=markdown, description=f"Served traffic {result.window}"
    )
    tables = {
        "monitor-drift": (report.drift_rows(result), "Drift per column"),
        "monitor-groups": (group_rows(result.groups), "Share flagged per group"),
        "monitor-capacity": (capacity_rows(result.capacity), "Flags against the team's capacity"),
    }
    for key, (rows, what) in tables.items():
        if rows:  # an empty table is not shown
            create_table_artifact(key=key, table=rows, description=f"{what} {result.window}")
    return {"mlflow_run_id": run_id, "report": path}


@task(cache_policy=NO_CACHE)
def emit_alert(result: MonitorResult, model_name: str, run_id: str) -> str | None:
    event = emit_event(**report.alert_event(result, model_name, run_id))
    return str(event.id) if event is not None else None


@task(**retried_io)
def apply_retention(lake: Lake, settings: Settings, today: date) -> list[str]:
    return steps.expire_captured(
        ScoredStore(lake), retention_days=settings.capture_retention_days, today=today
    )


@task(**retried_io)
def compact_closed_days(lake: Lake, settings: Settings, today: date) -> list[Compacted]:
    compactor = Compactor(
        lake,
        rows_per_file=settings.compaction_rows_per_file,
        row_group_rows=settings.compaction_row_group_rows,
    )
    return steps.compact_closed_days(
        compactor,
        ScoredStore(lake).days(),
        after_days=settings.compaction_after_days,
        today=today,
    )


def _run_name() -> str:
    until = flow_run.parameters.get("until") or "today"
    return f"monitor-{until}"


def _log_housekeeping(logger: Any, expired: list[str], compacted: list[Compacted]) -> None:
    """What retention and compaction did, in a line each (nothing when they did nothing)."""
    if expired:
        logger.info(
            "Retention: deleted the captured scores of %d day(s) before %s.",
            len(expired),
            expired[-1],
        )
    if compacted:
        logger.info(
            "Compaction: %d closed day(s) rewritten, %d files into %d.",
            len(compacted),
            sum(c.files_before for c in compacted),
            sum(c.files_after for c in compacted),
        )


@flow(name="monitor", flow_run_name=_run_name, log_prints=True)
def monitor(since: str | None = None, until: str | None = None) -> dict[str, Any]:
    """Compare the captured traffic of a window (default: the last ``monitor_window_days`` days,
    today included) with the champion's reference; report it; raise an event past the limits;
    delete captured scores older than the retention (before the window is read); compact the
    closed days; set unreadable captured files aside (counted in the report)."""
    logger = get_run_logger()
    settings = get_settings()
    lake, registry = Lake.from_settings(settings), open_registry(settings)
    today = datetime.now(UTC).date()
    last = date.fromisoformat(until) if until else today
    window = (
        Window(date.fromisoformat(since), last)
        if since
        else Window.ending(last, settings.monitor_window_days)
    )
    # Retention first: a window that cannot be read must not keep old days past their time.
    expired = apply_retention(lake, settings, today)
    compacted = compact_closed_days(lake, settings, today)
    data, rejections = read_window(lake, settings, window)
    reference = build_reference(lake, registry, settings)
    result = compute_drift(data, reference, rejections, settings)
    written = write_reports(lake, registry, settings, result)
    event_id = (
        emit_alert(result, settings.model_name, written["mlflow_run_id"]) if result.alert else None
    )
    logger.info(result.headline)
    _log_housekeeping(logger, expired, compacted)
    status = "alert" if result.alert else ("no traffic" if not result.traffic.rows else "ok")
    return {
        "status": status,
        "headline": result.headline,
        "window": {"since": str(window.since), "until": str(window.until)},
        "records": result.traffic.rows,
        "drifted_features": result.drift.drifted_features if result.drift else [],
        "groups_past_limit": [g.name for g in result.groups if g.passed],
        "capacity_past_limit": bool(result.capacity and result.capacity.past_limit),
        "champion_version": result.champion_version,
        "event_id": event_id,
        "expired_days": expired,
        "compacted_days": [c.day for c in compacted],
        "set_aside_files": [f.path for f in result.set_aside],
        **written,
    }


if __name__ == "__main__":
    monitor()
