"""The commands that look things up: the status of months and versions, the audit of one application."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    pass

from fraud_detection_cli.shell import fail, make_console


def status(as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """Months in the lake, model versions, decisions and aliases."""

    from fraud_detection.adapters.lake import Lake
    from fraud_detection.config import get_settings
    from fraud_detection.core.redact import redact_uri
    from fraud_detection.steps.status import snapshot
    from fraud_detection_cli.render import capacity_line, champion_at_capacity, status_tables
    from fraud_detection_cli.review import awaiting_review, review_table

    settings = get_settings()
    registry = snapshot(settings)
    months = Lake.from_settings(settings).list_months()
    waiting = awaiting_review(settings)
    console = make_console()
    if as_json:
        data = {
            "lake": redact_uri(settings.lake),
            "tracking_uri": redact_uri(settings.tracking_uri),
            "months": months,
            "quarantined": {m: r.as_dict() for m, r in registry.quarantined.items()},
            "champion": registry.champion,
            "champion_at_capacity": champion_at_capacity(registry),
            "challenger": registry.challenger,
            "versions": [{"version": version, **tags} for version, tags in registry.versions],
            "awaiting_review": [{"month": p.month, "version": p.version} for p in waiting],
        }
        console.print_json(json.dumps(data))
        return
    console.print(f"lake: {redact_uri(settings.lake)}  ({len(months)} months)")
    console.print(f"MLflow: {redact_uri(settings.tracking_uri)}")
    for table in status_tables(registry, settings.champion_alias, settings.challenger_alias):
        console.print(table)
    at_capacity = capacity_line(registry)
    if at_capacity:
        console.print(at_capacity)
    if waiting:
        console.print(review_table(waiting))


def scored(
    application: Annotated[int, typer.Argument(help="The application's SK_ID_CURR")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    since: Annotated[str | None, typer.Option(help="YYYY-MM-DD; default: every day kept")] = None,
) -> None:
    """Every time the service scored an application: when, by which version, what it said."""
    from datetime import date

    from rich.table import Table

    from fraud_detection.adapters.lake import Lake
    from fraud_detection.adapters.scored import ScoredStore
    from fraud_detection.config import get_settings
    from fraud_detection.steps.audit import scorings

    try:
        first = date.fromisoformat(since) if since is not None else None
    except ValueError:
        fail(f"--since must look like YYYY-MM-DD, got {since!r}")
    found = scorings(ScoredStore(Lake.from_settings(get_settings())), application, first)
    console = make_console()
    if as_json:
        console.print_json(json.dumps([scoring.as_dict() for scoring in found]))
        return
    if not found:
        console.print(
            f"application {application} was not scored" + (f" since {since}" if since else "")
        )
        return
    table = Table("scored at (UTC)", "endpoint", "version", "probability", "risk level", "decision")
    for s in found:
        table.add_row(
            s.scored_at.strftime("%Y-%m-%d %H:%M:%S"),
            s.endpoint,
            s.model_version,
            f"{s.probability:.4f}",
            s.risk_level,
            f"{s.decision} (threshold {s.threshold:.3f})",
        )
    console.print(table)
