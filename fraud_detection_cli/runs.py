"""The commands that run the flows in this process (bootstrap, retrain, monitor), bundle the champion and run the demo."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    pass

from fraud_detection_cli.render import bootstrap_line, retrain_line
from fraud_detection_cli.shell import fail, from_checkout, make_console, prefect_for_the_shell


def bootstrap(
    model_file: Annotated[
        Path | None, typer.Option(help="Register this XGBoost file instead")
    ] = None,
) -> None:
    """Run the bootstrap flow: the first champion from the base history."""
    prefect_for_the_shell()
    with from_checkout("bootstrap"):
        from flows.bootstrap import bootstrap as bootstrap_flow

    result = bootstrap_flow(model_file=str(model_file) if model_file else None)
    make_console().print(bootstrap_line(result))


def retrain(
    month: Annotated[str | None, typer.Option(help="YYYY-MM; default: the next undecided")] = None,
    all_months: Annotated[
        bool, typer.Option("--all", help="Every undecided month in order")
    ] = False,
) -> None:
    """Run the monthly-retrain flow in this process (without a deployment)."""
    prefect_for_the_shell()
    with from_checkout("retrain"):
        from flows.retrain import monthly_retrain

    while True:
        result = monthly_retrain(month=month)
        make_console().print(retrain_line(result))
        if not all_months or month or result.get("status") == "nothing to do":
            break


def monitor(
    since: Annotated[
        str | None,
        typer.Option(help="YYYY-MM-DD; default: the last FRAUD_MONITOR_WINDOW_DAYS days"),
    ] = None,
    until: Annotated[str | None, typer.Option(help="YYYY-MM-DD; default: today (UTC)")] = None,
) -> None:
    """Run the monitor flow in this process: served traffic against the champion's reference."""
    from datetime import date

    for value in (since, until):
        if value is not None:
            try:
                date.fromisoformat(value)
            except ValueError:
                fail(f"a day must look like YYYY-MM-DD, got {value!r}")
    prefect_for_the_shell()
    with from_checkout("monitor"):
        from flows.monitor import monitor as monitor_flow

    result = monitor_flow(since=since, until=until)
    console = make_console()
    console.print(result["headline"])
    console.print(f"report: {result['report']} · MLflow run {result['mlflow_run_id']}")


def import_champion() -> None:
    """Copy the current champion from MLflow into the BentoML model store (for `bentoml build`)."""
    from fraud_detection.config import get_settings

    with from_checkout("bento import-champion"):
        from service.bundle import import_champion as do_import

    make_console().print(f"imported {do_import(get_settings())}")


def demo(
    months: Annotated[int, typer.Option(help="Monthly retrains to run")] = 4,
    port: Annotated[int, typer.Option(help="Port for the prediction service")] = 3000,
    serve: Annotated[bool, typer.Option(help="Keep serving after the sample is scored")] = False,
) -> None:
    """Seed data, bootstrap a champion, retrain, serve it a month of applications, judge that
    month on its outcomes and monitor the traffic."""
    prefect_for_the_shell()
    with from_checkout("demo"):
        from fraud_detection_cli.demo import run_demo
    from fraud_detection.config import get_settings

    run_demo(get_settings(), months=months, port=port, console=make_console(), keep_serving=serve)
