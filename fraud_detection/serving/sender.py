"""The capture's sender: spill folder → lake, exactly once (see the outbox), with backoff while
the lake fails, and a spill file that is not a readable batch set aside and counted."""

from __future__ import annotations

import logging

from fraud_detection.core.redact import redact_text
from fraud_detection.serving.backoff import Backoff
from fraud_detection.serving.capture_config import (
    LAKE_WRITE,
    UNREADABLE,
    BatchStore,
    CaptureConfig,
)
from fraud_detection.serving.capture_counts import CaptureCounts
from fraud_detection.serving.outbox import UNREADABLE_DIR, Outbox, Sent

logger = logging.getLogger("fraud_detection.serving")


def rows_of(relative: str, data: bytes) -> int:
    """Records in a batch file (0 for a request tally), from its Parquet footer; raises when
    the file is not Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = int(pq.read_metadata(pa.BufferReader(data)).num_rows)
    return rows if holds_records(relative) else 0


def holds_records(relative: str) -> bool:
    return relative.startswith("day=")  # request tallies live under _requests/


class Sender:
    """Sends the spill folder's batch files; remembers how many wait and when to try again."""

    def __init__(
        self, config: CaptureConfig, outbox: Outbox, store: BatchStore, counts: CaptureCounts
    ) -> None:
        self.config = config
        self.outbox = outbox
        self.store = store
        self.counts = counts
        self.backoff = Backoff(config.retry_interval_s, config.max_backoff_s)
        self.waiting_files = 0  # batch files in the spill folder after the last pass
        self._lake_down = False

    def send(self) -> Sent:
        """Send every waiting batch file; on a failure of the lake, back off before the next."""
        result = self.outbox.send(self.store, rows_of)
        if result.rows:
            self.counts.sent(result.rows)
        self._report_files(result)
        self.waiting_files = len(self.outbox.pending())
        if result.error is None:
            if self._lake_down and result.files:
                logger.info("capture: the lake answers again; waiting batches sent")
            self._lake_down = False
            self.backoff.succeeded()
            return result
        delay = self.backoff.failed()
        self.counts.send_failed()
        self.counts.count_error(LAKE_WRITE)
        if not self._lake_down:  # once per outage, not once per try
            self._lake_down = True
            logger.warning(
                "capture: the lake cannot be written (%s); batches wait in the spill folder and"
                " are sent again in %.0f s (then less and less often, at most every %.0f s)",
                redact_text(f"{type(result.error).__name__}: {result.error}", [])[:300],
                delay,
                self.config.max_backoff_s,
            )
        return result

    def _report_files(self, result: Sent) -> None:
        for relative in result.quarantined:
            self.counts.quarantined()
            self.counts.count_error(UNREADABLE)
            logger.warning(
                "capture: %s in the spill folder is not a readable batch; moved to %s/, never"
                " sent to the lake",
                relative,
                self.config.spill_dir / UNREADABLE_DIR,
            )
        for kind, relative, error in result.file_errors:
            self.counts.error(kind, f"{relative} in the spill folder", error)
