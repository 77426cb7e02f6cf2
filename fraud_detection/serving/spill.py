"""A batch file's way into the spill folder (or, when the folder refuses, straight to the lake),
counted either way; what neither takes is dropped and counted, never silently lost."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fraud_detection.serving.capture_config import SPILL_FAILED, SPILL_WRITE, BatchStore
from fraud_detection.serving.capture_counts import CaptureCounts
from fraud_detection.serving.outbox import Outbox
from fraud_detection.serving.sender import holds_records

if TYPE_CHECKING:
    from fraud_detection.adapters.scored import BatchFile


class SpillWriter:
    """Keeps batch files in the spill folder for the sender, else in the lake directly."""

    def __init__(self, outbox: Outbox, store: BatchStore, counts: CaptureCounts) -> None:
        self.outbox = outbox
        self.store = store
        self.counts = counts

    def keep(self, file: BatchFile) -> None:
        """One batch file into the spill folder, else straight to the lake; raises if neither."""
        records = file.rows if holds_records(file.relative) else 0
        try:
            self.outbox.put(file.relative, file.data)
        except OSError:
            if self.store.put(file.relative, file.data):
                self.counts.sent(records)
            return
        self.counts.spilled(records)

    def write(self, file: BatchFile) -> int:
        """Keep one batch file → its records kept (0 when they were dropped and counted)."""
        records = file.rows if holds_records(file.relative) else 0
        try:
            self.keep(file)
        except Exception as error:
            self.counts.error(
                SPILL_WRITE, f"{records} records dropped: no spill folder, no lake", error
            )
            self.counts.dropped(records, SPILL_FAILED)
            return 0
        return records
