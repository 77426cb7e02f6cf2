"""What the libraries print on a terminal: warnings and errors only, unless ``--verbose``.

A command tells its own story (a narrative line per step, tables); Prefect's per-task INFO lines,
MLflow's "Downloading artifacts" progress bars and its INFO chatter ("Detected uv project",
"Creating initial MLflow database tables") bury it. Everything still reaches the Prefect API and
MLflow: only the terminal is spared. Set before the libraries are imported (they read these
variables when they configure their logging).

Prefect's temporary server (the local API a command starts when no PREFECT_API_URL is set) is a
child process on the same terminal, and inherits these variables: its own logging is silenced,
so that its shutdown on a busy machine (a request cut off, SQLAlchemy logging a CancelledError
traceback) never prints after the command's own result or one-line error.
"""

from __future__ import annotations

import os
from pathlib import Path

# Prefect's logging.yml plus the temporary server's database loggers (see the file's header).
PREFECT_LOGGING_FILE = Path(__file__).with_name("prefect_logging.yml")

QUIET_ENVIRONMENT = {
    # Prefect's console handler only (its API handler still sends every log line to the UI).
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
    "PREFECT_LOGGING_SETTINGS_PATH": str(PREFECT_LOGGING_FILE),
    # The temporary server's loggers (uvicorn, its API, its database layer): nothing to the user.
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    "MLFLOW_LOGGING_LEVEL": "WARNING",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


def quiet_libraries(*, verbose: bool) -> None:
    """Keep library chatter off the terminal unless asked; a variable the user set wins."""
    if verbose:
        return
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
