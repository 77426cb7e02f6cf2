"""``fraud-detection``: set-up and operations from the shell.

Every command imports what it uses inside its body (MLflow, XGBoost, Prefect, BentoML take
seconds to import), so ``--help`` answers at once and ``status`` loads only the registry client.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from fraud_detection_cli.errors import report_failure, short_prefect_tracebacks
from fraud_detection_cli.quiet import quiet_libraries
from fraud_detection_cli.render import bootstrap_line, retrain_line
from fraud_detection_cli.review import add_commands

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import pandas as pd
    from rich.console import Console

    from fraud_detection.adapters.registry import Registry
    from fraud_detection.config import Settings

app = typer.Typer(
    help="Fraud model for funding applications: data, registry and operations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
bento_app = typer.Typer(help="Bundle the champion into a bento.", no_args_is_help=True)
app.add_typer(bento_app, name="bento")
_debug = False


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on failure")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Show the libraries' own log lines and progress bars")
    ] = False,
) -> None:
    global _debug
    _debug = debug
    quiet_libraries(verbose=verbose or debug)


def _console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr)


def _fail(message: str) -> NoReturn:
    """A failure the command foresaw: its cause on stderr, like every other failure, and exit 1."""
    _console(stderr=True).print(f"[red]error:[/red] {message}")
    raise typer.Exit(code=1)


@app.command("seed-data")
def seed_data(
    months: Annotated[int, typer.Option(help="Incoming months to write")] = 12,
    rows_per_month: Annotated[int, typer.Option(help="Applications per month")] = 7_680,
    base_rows: Annotated[int, typer.Option(help="Applications in the base history")] = 60_000,
    first_month: Annotated[str, typer.Option(help="First month, YYYY-MM")] = "2025-01",
    from_raw: Annotated[
        tuple[Path, Path] | None,
        typer.Option(help="application_train.csv and previous_application.csv to ingest"),
    ] = None,
) -> None:
    """Write base history + monthly partitions to the lake (synthetic, or the public raw files)."""
    from rich.progress import Progress
    from rich.table import Table

    from fraud_detection.adapters.lake import Lake, PartitionExistsError
    from fraud_detection.config import get_settings
    from fraud_detection.core.redact import redact_uri

    settings = get_settings()
    lake = Lake.from_settings(settings)
    if from_raw is not None:
        from fraud_detection.sources import homecredit

        clean = homecredit.load_raw(*from_raw)
        history, monthly = homecredit.split_history_and_months(
            clean, months=months, first_month=first_month, seed=settings.seed
        )
        partitions: Iterable[tuple[str, pd.DataFrame, pd.DataFrame | None]] = [
            ("base", history, None),
            *((m, f, None) for m, f in monthly.items()),
        ]
    else:
        from fraud_detection.sources.synthetic import generate_lake_partitions

        partitions = (  # one month in memory at a time
            (p.name, p.frame, p.truth)
            for p in generate_lake_partitions(
                months=months,
                rows_per_month=rows_per_month,
                base_rows=base_rows,
                first_month=first_month,
                seed=settings.seed,
            )
        )
    console = _console()
    written = []
    with Progress(console=console, transient=True) as progress:
        job = progress.add_task("writing partitions", total=months + 1)
        for name, frame, truth in partitions:
            try:
                ref = lake.write(name, frame, truth)
            except PartitionExistsError as exc:
                _fail(str(exc))
            written.append((name, len(frame), float(frame["TARGET"].mean()), ref.sha256[:12]))
            progress.advance(job)
    table = Table("partition", "rows", "fraud rate", "sha256", title=f"Lake {redact_uri(lake.uri)}")
    for name, rows, rate, digest in written:
        table.add_row(name, f"{rows:,}", f"{rate:.1%}", digest)
    console.print(table)


@app.command("register-model")
def register_model(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="XGBoost .json or .ubj")
    ],
    alias: Annotated[str | None, typer.Option(help="Alias to set, e.g. champion")] = None,
    threshold: Annotated[
        float | None,
        typer.Option(help="Decision threshold of this model [default: FRAUD_DEFAULT_THRESHOLD]"),
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Your name: the alias change is signed")] = "",
    note: Annotated[str, typer.Option("--note", help="Why: kept with the change")] = "",
) -> None:
    """Register an existing XGBoost model file (54-column contract; no pickle accepted)."""
    from fraud_detection.adapters.decision_log import DecisionLog
    from fraud_detection.adapters.model_files import ModelFileError
    from fraud_detection.adapters.registry import RegistryError
    from fraud_detection.config import get_settings
    from fraud_detection.steps import signing
    from fraud_detection.steps.external_model import register_model_file

    settings = get_settings()
    try:
        if alias:
            signing.require_signature(settings, by, "register-model --alias")
        version = register_model_file(
            _registry(settings, "register-model"),
            file,
            threshold=settings.default_threshold if threshold is None else threshold,
            alias=alias,
            champion_alias=settings.champion_alias,
        )
        if alias:
            signing.sign_registration(DecisionLog(settings), alias, version, by=by, note=note)
    except (RegistryError, ModelFileError, signing.SignatureRequired) as exc:
        _fail(str(exc))
    _console().print(
        f"registered {settings.model_name} version {version}" + (f" as @{alias}" if alias else "")
    )


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """Months in the lake, model versions, decisions and aliases."""
    from rich.table import Table

    from fraud_detection.adapters.lake import Lake
    from fraud_detection.config import get_settings
    from fraud_detection.core.redact import redact_uri
    from fraud_detection.steps.status import snapshot
    from fraud_detection_cli.review import awaiting_review, review_table

    settings = get_settings()
    registry = snapshot(settings)
    months = Lake.from_settings(settings).list_months()
    waiting = awaiting_review(settings)
    console = _console()
    if as_json:
        data = {
            "lake": redact_uri(settings.lake),
            "tracking_uri": redact_uri(settings.tracking_uri),
            "months": months,
            "quarantined": {m: r.as_dict() for m, r in registry.quarantined.items()},
            "champion": registry.champion,
            "challenger": registry.challenger,
            "versions": [{"version": version, **tags} for version, tags in registry.versions],
            "awaiting_review": [{"month": p.month, "version": p.version} for p in waiting],
        }
        console.print_json(json.dumps(data))
        return
    console.print(f"lake: {redact_uri(settings.lake)}  ({len(months)} months)")
    console.print(f"MLflow: {redact_uri(settings.tracking_uri)}")
    table = Table("version", "month", "role", "decision", "holdout PR-AUC", "threshold", "aliases")
    for version, tags in registry.versions:
        aliases = [
            alias
            for alias, holder in (
                (settings.champion_alias, registry.champion),
                (settings.challenger_alias, registry.challenger),
            )
            if holder == version
        ]
        table.add_row(
            version,
            tags.get("month", ""),
            tags.get("role", ""),
            tags.get("decision", ""),
            tags.get("holdout_pr_auc", ""),
            tags.get("threshold", "")[:6],
            ", ".join(aliases),
        )
    console.print(table)
    if registry.quarantined:
        held = Table("month", "delivery", "reason", title="Quarantined months (skipped)")
        for month, record in sorted(registry.quarantined.items()):
            held.add_row(month, record.path.rsplit("/", 1)[-1], record.reason)
        console.print(held)
    if waiting:
        console.print(review_table(waiting))


@app.command()
def ingest(
    month: Annotated[str, typer.Argument(help="YYYY-MM")],
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="applications .parquet or .csv")
    ],
    labels_as_of: Annotated[
        datetime.datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="when the delivery's labels were taken (YYYY-MM-DD): a month whose labels are "
            "younger than FRAUD_LABEL_MATURITY_DAYS is held as immature",
        ),
    ] = None,
) -> None:
    """Deliver a month (or a corrected delivery of it) to the lake; older bytes are kept."""
    from fraud_detection.adapters.lake import Lake, LakeError
    from fraud_detection.config import get_settings
    from fraud_detection.core.lineage import PartitionRef
    from fraud_detection.core.redact import redact_uri
    from fraud_detection.steps import intake

    data = file.read_bytes()
    try:
        intake.validate(intake.MonthData(PartitionRef(month, str(file), ""), data))
        lake = Lake.from_settings(get_settings())
        ref = lake.deliver(month, data, csv=file.suffix == ".csv")
        if labels_as_of is not None:
            lake.record_labels_as_of(month, labels_as_of.date())
    except (intake.MonthError, ValueError, LakeError) as exc:
        _fail(str(exc))
    taken = f", labels as of {labels_as_of.date().isoformat()}" if labels_as_of else ""
    _console().print(
        f"{month}: delivered as {redact_uri(ref.path)} (sha256 {ref.sha256[:12]}{taken})"
    )


def _prefect_for_the_shell() -> None:
    """Set up Prefect for a flow run in this process; must run before Prefect is imported.

    Its temporary local API (used when no PREFECT_API_URL is set) gets 120 s to start instead of
    20 s, sometimes too short on a busy 2-core machine, and no telemetry: its heartbeat writes to
    the server's SQLite file while the flow run does, and printed two "database is locked"
    tracebacks in the middle of a successful run (an error line where there is no network).
    Failures are logged without tracebacks unless ``--debug``.
    A PREFECT_HOME whose parent does not exist yet (``./run demo``'s data/prefect on a fresh
    clone) is made here: Prefect creates only the last level and warns when it cannot.
    """
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if home := os.environ.get("PREFECT_HOME"):
        Path(home).expanduser().mkdir(parents=True, exist_ok=True)
    if not _debug:
        short_prefect_tracebacks()


CHECKOUT_PACKAGES = frozenset({"flows", "service", "devstack"})  # loaded from the project dir


def _registry(settings: Settings, command: str) -> Registry:
    """The registry with the promotion lock every other process takes: Prefect's global
    concurrency limit (built by flows/locks.py) when the settings choose it."""
    from fraud_detection.adapters.stores import open_registry

    if settings.promotion_lock_kind != "prefect":
        return open_registry(settings)
    _prefect_for_the_shell()
    with _from_checkout(f"{command} (with Prefect's promotion lock)"):
        from flows.locks import prefect_lock

    return open_registry(settings, lock=prefect_lock(settings))


@contextlib.contextmanager
def _from_checkout(command: str) -> Iterator[None]:
    """Imports of the deployment code (flows/, service/) and dev tooling, which the wheel leaves
    out: from an installed package alone, say where the command runs instead of a traceback."""
    try:
        yield
    except ModuleNotFoundError as exc:
        package = (exc.name or "").split(".")[0]
        if package not in CHECKOUT_PACKAGES:
            raise
        _fail(f"`{command}` runs from a checkout of the project (or the jobs image): it loads "
              f"{package}/ from the project directory, which the installed package leaves out")  # fmt: skip


@app.command()
def bootstrap(
    model_file: Annotated[
        Path | None, typer.Option(help="Register this XGBoost file instead")
    ] = None,
) -> None:
    """Run the bootstrap flow: the first champion from the base history."""
    _prefect_for_the_shell()
    with _from_checkout("bootstrap"):
        from flows.bootstrap import bootstrap as bootstrap_flow

    result = bootstrap_flow(model_file=str(model_file) if model_file else None)
    _console().print(bootstrap_line(result))


@app.command()
def retrain(
    month: Annotated[str | None, typer.Option(help="YYYY-MM; default: the next undecided")] = None,
    all_months: Annotated[
        bool, typer.Option("--all", help="Every undecided month in order")
    ] = False,
) -> None:
    """Run the monthly-retrain flow in this process (without a deployment)."""
    _prefect_for_the_shell()
    with _from_checkout("retrain"):
        from flows.retrain import monthly_retrain

    while True:
        result = monthly_retrain(month=month)
        _console().print(retrain_line(result))
        if not all_months or month or result.get("status") == "nothing to do":
            break


@app.command()
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
                _fail(f"a day must look like YYYY-MM-DD, got {value!r}")
    _prefect_for_the_shell()
    with _from_checkout("monitor"):
        from flows.monitor import monitor as monitor_flow

    result = monitor_flow(since=since, until=until)
    console = _console()
    console.print(result["headline"])
    console.print(f"report: {result['report']} · MLflow run {result['mlflow_run_id']}")


@app.command()
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
        _fail(f"--since must look like YYYY-MM-DD, got {since!r}")
    found = scorings(ScoredStore(Lake.from_settings(get_settings())), application, first)
    console = _console()
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


@bento_app.command("import-champion")
def import_champion() -> None:
    """Copy the current champion from MLflow into the BentoML model store (for `bentoml build`)."""
    from fraud_detection.config import get_settings

    with _from_checkout("bento import-champion"):
        from service.bundle import import_champion as do_import

    _console().print(f"imported {do_import(get_settings())}")


@app.command()
def demo(
    months: Annotated[int, typer.Option(help="Monthly retrains to run")] = 4,
    port: Annotated[int, typer.Option(help="Port for the prediction service")] = 3000,
    serve: Annotated[bool, typer.Option(help="Keep serving after the sample is scored")] = False,
) -> None:
    """Seed data, bootstrap a champion, retrain, serve it a month of applications, judge that
    month on its outcomes and monitor the traffic."""
    _prefect_for_the_shell()
    with _from_checkout("demo"):
        from fraud_detection_cli.demo import run_demo
    from fraud_detection.config import get_settings

    run_demo(get_settings(), months=months, port=port, console=_console(), keep_serving=serve)


add_commands(app, _registry)  # review, promote, rollback, suspend, resume, history, card


def main() -> None:
    """The console script: a failing command prints its cause and exits 1 (traceback: --debug)."""
    try:
        app()
    except Exception as exc:
        if _debug:
            raise
        report_failure(exc)
        sys.exit(1)


if __name__ == "__main__":
    main()
