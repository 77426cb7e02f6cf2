"""What every command shares: its console, a foreseen failure, Prefect set up for a flow run in
this process, the registry with the promotion lock, and imports that need a checkout."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from collections.abc import Iterator

    from rich.console import Console

    from fraud_detection.adapters.registry import Registry
    from fraud_detection.config import Settings

from fraud_detection_cli.errors import short_prefect_tracebacks


class _Options:
    """The global options of the command line (set by its callback)."""

    debug = False


options = _Options()


def make_console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr)


def fail(message: str) -> NoReturn:
    """A failure the command foresaw: its cause on stderr, like every other failure, and exit 1."""
    make_console(stderr=True).print(f"[red]error:[/red] {message}")
    raise typer.Exit(code=1)


def prefect_for_the_shell() -> None:
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
    if not options.debug:
        short_prefect_tracebacks()


CHECKOUT_PACKAGES = frozenset({"flows", "service", "devstack"})  # loaded from the project dir


def registry_for(settings: Settings, command: str) -> Registry:
    """The registry with the promotion lock every other process takes: Prefect's global
    concurrency limit (built by flows/locks.py) when the settings choose it."""
    from fraud_detection.adapters.stores import open_registry

    if settings.promotion_lock_kind != "prefect":
        return open_registry(settings)
    prefect_for_the_shell()
    with from_checkout(f"{command} (with Prefect's promotion lock)"):
        from flows.locks import prefect_lock

    return open_registry(settings, lock=prefect_lock(settings))


@contextlib.contextmanager
def from_checkout(command: str) -> Iterator[None]:
    """Imports of the deployment code (flows/, service/) and dev tooling, which the wheel leaves
    out: from an installed package alone, say where the command runs instead of a traceback."""
    try:
        yield
    except ModuleNotFoundError as exc:
        package = (exc.name or "").split(".")[0]
        if package not in CHECKOUT_PACKAGES:
            raise
        fail(f"`{command}` runs from a checkout of the project (or the jobs image): it loads "
              f"{package}/ from the project directory, which the installed package leaves out")  # fmt: skip
