from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fraud_detection_cli.quiet import PREFECT_LOGGING_FILE, QUIET_ENVIRONMENT

# A process with the temporary server's environment (inherited from the command) sets up Prefect's
# logging as the server does (its ``create_app`` calls ``setup_logging`` first),
# then SQLAlchemy's pool is cut off by the server's shutdown while a request is open: the error it
# logs, with the CancelledError it caught, on the logger it uses.
SERVER_SHUTTING_DOWN = """
import asyncio, logging, sys
from fraud_detection_cli.quiet import quiet_libraries
quiet_libraries(verbose=sys.argv[1] == "verbose")
from prefect.logging.configuration import setup_logging
setup_logging()
try:
    raise asyncio.CancelledError()
except BaseException:
    logging.getLogger("sqlalchemy.pool.impl.AsyncAdaptedQueuePool").error(
        "Exception during reset or similar", exc_info=True
    )
logging.getLogger("uvicorn.error").error("Exception in ASGI application", exc_info=True)
logging.getLogger("prefect.server.services").error("shutting down", exc_info=True)
logging.getLogger("fraud_detection").warning("the command's own warning")
"""


def _server_output(mode: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in QUIET_ENVIRONMENT}
    result = subprocess.run(
        [sys.executable, "-c", SERVER_SHUTTING_DOWN, mode],
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT_UI_ENABLED": "0"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def test_the_temporary_servers_shutdown_traceback_never_reaches_the_terminal() -> None:
    quiet = _server_output("quiet")
    assert "Traceback" not in quiet and "CancelledError" not in quiet, quiet
    assert "Exception during reset" not in quiet and "ASGI" not in quiet, quiet
    # the libraries' other warnings still show
    assert "the command's own warning" in quiet, quiet
    # with --verbose (or --debug) the server speaks again: the check above can fail
    verbose = _server_output("verbose")
    assert "Exception during reset or similar" in verbose, verbose
    assert "CancelledError" in verbose, verbose


def _prefects_own_logging() -> dict[str, dict[str, object]]:
    import prefect.logging

    path = Path(prefect.logging.__file__).with_name("logging.yml")
    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("section", ["formatters", "handlers", "loggers"])
def test_the_commands_logging_file_keeps_everything_of_prefects_own(section: str) -> None:
    # The file replaces Prefect's (it is not merged): a Prefect upgrade that changes its own
    # must be carried over, or flow-run logs could stop reaching the API.
    ours = yaml.safe_load(PREFECT_LOGGING_FILE.read_text())
    theirs = _prefects_own_logging()
    assert {name: ours[section].get(name) for name in theirs[section]} == theirs[section]
    assert ours["root"] == theirs["root"]
