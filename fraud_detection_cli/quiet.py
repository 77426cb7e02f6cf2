"""What the libraries print on a terminal: warnings and errors only, unless ``--verbose``.

A command tells its own story (a narrative line per step, tables); Prefect's per-task INFO lines,
MLflow's "Downloading artifacts" progress bars and its INFO chatter ("Detected uv project",
"Creating initial MLflow database tables") bury it. Everything still reaches the Prefect API and
MLflow: only the terminal is spared. Set before the libraries are imported (they read these
variables when they configure their logging).
"""

from __future__ import annotations

import os

QUIET_ENVIRONMENT = {
    # Prefect's console handler only (its API handler still sends every log line to the UI).
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
    "MLFLOW_LOGGING_LEVEL": "WARNING",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


def quiet_libraries(*, verbose: bool) -> None:
    """Keep library chatter off the terminal unless asked; a variable the user set wins."""
    if verbose:
        return
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
