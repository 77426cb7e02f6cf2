"""``fraud-detection``: set-up and operations from the shell.

Every command imports what it uses inside its body (MLflow, XGBoost, Prefect, BentoML take
seconds to import), so ``--help`` answers at once and ``status`` loads only the registry client.
The commands live by kind in data.py, lookups.py, runs.py and review.py; this module composes
them into one ``typer`` application.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from fraud_detection_cli import data, lookups, runs
from fraud_detection_cli.errors import report_failure
from fraud_detection_cli.quiet import quiet_libraries
from fraud_detection_cli.review import add_commands
from fraud_detection_cli.shell import options, registry_for

app = typer.Typer(
    help="Fraud model for funding applications: data, registry and operations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
bento_app = typer.Typer(help="Bundle the champion into a bento.", no_args_is_help=True)
app.add_typer(bento_app, name="bento")


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on failure")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Show the libraries' own log lines and progress bars")
    ] = False,
) -> None:
    options.debug = debug
    quiet_libraries(verbose=verbose or debug)


app.command("seed-data")(data.seed_data)
app.command("register-model")(data.register_model)
app.command()(lookups.status)
app.command()(data.ingest)
app.command()(runs.bootstrap)
app.command()(runs.retrain)
app.command()(runs.monitor)
app.command()(lookups.scored)
bento_app.command("import-champion")(runs.import_champion)
app.command()(runs.demo)
add_commands(app, registry_for)  # review, promote, rollback, suspend, resume, history, card


def main() -> None:
    """The console script: a failing command prints its cause and exits 1 (traceback: --debug)."""
    try:
        app()
    except Exception as exc:
        if options.debug:
            raise
        report_failure(exc)
        sys.exit(1)


if __name__ == "__main__":
    main()
