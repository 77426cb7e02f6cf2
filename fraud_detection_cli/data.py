"""The data commands: seed the lake, deliver a month, register a model file."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pandas as pd

    from fraud_detection.config import Settings


from fraud_detection_cli.shell import fail, make_console, registry_for


def _partitions(
    settings: Settings,
    months: int,
    rows_per_month: int,
    base_rows: int,
    first_month: str,
    from_raw: tuple[Path, Path] | None,
) -> Iterable[tuple[str, pd.DataFrame, pd.DataFrame | None]]:
    """(name, rows, true p(fraud) or None) of each partition: the public raw files, or
    synthetic ones drawn one month at a time."""
    if from_raw is not None:
        from fraud_detection.sources import homecredit

        clean = homecredit.load_raw(*from_raw)
        history, monthly = homecredit.split_history_and_months(
            clean, months=months, first_month=first_month, seed=settings.seed
        )
        return [
            ("base", history, None),
            *((m, f, None) for m, f in monthly.items()),
        ]
    from fraud_detection.sources.synthetic import generate_lake_partitions

    return (  # one month in memory at a time
        (p.name, p.frame, p.truth)
        for p in generate_lake_partitions(
            months=months,
            rows_per_month=rows_per_month,
            base_rows=base_rows,
            first_month=first_month,
            seed=settings.seed,
        )
    )


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
    partitions = _partitions(settings, months, rows_per_month, base_rows, first_month, from_raw)
    console = make_console()
    written = []
    with Progress(console=console, transient=True) as progress:
        job = progress.add_task("writing partitions", total=months + 1)
        for name, frame, truth in partitions:
            try:
                ref = lake.write(name, frame, truth)
            except PartitionExistsError as exc:
                fail(str(exc))
            written.append((name, len(frame), float(frame["TARGET"].mean()), ref.sha256[:12]))
            progress.advance(job)
    table = Table("partition", "rows", "fraud rate", "sha256", title=f"Lake {redact_uri(lake.uri)}")
    for name, rows, rate, digest in written:
        table.add_row(name, f"{rows:,}", f"{rate:.1%}", digest)
    console.print(table)


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
            registry_for(settings, "register-model"),
            file,
            threshold=settings.default_threshold if threshold is None else threshold,
            alias=alias,
            champion_alias=settings.champion_alias,
        )
        if alias:
            signing.sign_registration(DecisionLog(settings), alias, version, by=by, note=note)
    except (RegistryError, ModelFileError, signing.SignatureRequired) as exc:
        fail(str(exc))
    make_console().print(
        f"registered {settings.model_name} version {version}" + (f" as @{alias}" if alias else "")
    )


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
        fail(str(exc))
    taken = f", labels as of {labels_as_of.date().isoformat()}" if labels_as_of else ""
    make_console().print(
        f"{month}: delivered as {redact_uri(ref.path)} (sha256 {ref.sha256[:12]}{taken})"
    )
