"""What a failing command prints: its cause in one line, and no traceback unless ``--debug``."""

from __future__ import annotations

import logging
import sys


def report_failure(exc: BaseException) -> None:
    """``error: <cause>`` on stderr; the cause of a chained error is named too when it adds to it."""
    from fraud_detection.redact import redact_uri

    message = str(exc) or type(exc).__name__
    cause = exc.__cause__
    if cause is not None and str(cause) and str(cause) not in message:
        message = f"{message} (caused by {type(cause).__name__}: {cause})"
    if type(exc).__module__.split(".")[0] not in {"fraud_detection", "builtins"}:
        message = f"{type(exc).__name__}: {message}"
    print(f"error: {redact_uri(message)}", file=sys.stderr)
    print("(run with --debug for the traceback)", file=sys.stderr)


class _WithoutTraceback(logging.Formatter):
    """Formats as the wrapped formatter does, leaving out the exception's traceback."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            return self.inner.format(record)
        finally:
            record.exc_info, record.exc_text = saved


def short_prefect_tracebacks() -> None:
    """Prefect logs a failed task or flow run with its traceback on the console; keep the message
    (the run in the Prefect API keeps the whole traceback)."""
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, PrefectConsoleHandler) and not isinstance(
                handler.formatter, _WithoutTraceback
            ):
                handler.setFormatter(_WithoutTraceback(handler.formatter or logging.Formatter()))
