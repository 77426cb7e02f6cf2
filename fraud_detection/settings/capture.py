"""Settings of the capture's journal and of its health (``FRAUD_CAPTURE_*``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CaptureSettings(BaseModel):
    """How the capture survives a crash and says it is falling behind."""

    capture_journal_fsync: bool = Field(
        False,
        description=(
            "fsync the capture journal after every request, and each batch file in the spill"
            " folder: survives a machine's crash, not only the process's, at the cost of a disk"
            " flush per request"
        ),
    )
    capture_own_process: bool = Field(
        True,
        description=(
            "make the batches and send them to the lake in a process of the capture's own (one"
            " per service worker), off the workers' interpreter lock; false: in a thread of each"
            " worker"
        ),
    )
    capture_max_backoff_s: float = Field(
        60.0,
        gt=0,
        description="longest wait between two tries of a failing capture step (lake, spill folder)",
    )
    capture_close_timeout_s: float = Field(
        30.0,
        gt=0,
        description=(
            "longest wait at the service's stop for buffered records to reach the lake; what is"
            " left waits in the spill folder and is sent at the next start"
        ),
    )
    capture_degraded_spill_files: int = Field(
        500,
        ge=1,
        description=(
            "batch files waiting in the spill folder from which /readyz reports the service not"
            " ready (capture degraded: the lake is not taking them)"
        ),
    )
