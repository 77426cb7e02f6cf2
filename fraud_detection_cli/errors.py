"""What a failing command prints: its cause in one line, and no traceback unless ``--debug``."""

from __future__ import annotations

import logging
import sys


def report_failure(exc: BaseException) -> None:
    """``error: <cause>`` on stderr; the cause of a chained error is named too when it adds to it."""
    from fraud_detection.core.redact import redact_uri

    message = str(exc) or type(exc).__name__
    cause = exc.__cause__
    if cause is not None and str(cause) and str(cause) not in message:
        message = f"{message} (caused by {type(cause).__name__}: {cause})"
    if type(exc).__module__.split(".")[0] not in {"fraud_detection", "builtins"}:
        message = f"{type(exc).__name__}: {message}"
    print(f"error: {redact_uri(message)}", file=sys.stderr)
    print("(run with --debug for the traceback)", file=sys.stderr)


def short_prefect_tracebacks() -> None:
    """Prefect logs a failed task or flow run with its traceback on the console; keep the one-line
    message there (the run in the Prefect API keeps the whole traceback).

    Set on the handler class, because Prefect configures its logging again when a run starts.
    """
    from prefect.logging.handlers import PrefectConsoleHandler

    if getattr(PrefectConsoleHandler, "_short_tracebacks", False):
        return
    full_format = PrefectConsoleHandler.format

    def format_without_traceback(handler: logging.Handler, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            return full_format(handler, record)
        finally:
            record.exc_info, record.exc_text = saved

    PrefectConsoleHandler.format = format_without_traceback  # type: ignore[method-assign, assignment]
    PrefectConsoleHandler._short_tracebacks = True  # type: ignore[attr-defined]
