"""Settings of the watching side: the monitor's privacy floor, its limit on each group's share
flagged, and the compaction of closed days of captured scores (docs/watching.md)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class WatchingSettings(BaseModel):
    """How the monitor protects small windows and how it keeps the captured days compact."""

    monitor_min_records: int = Field(
        100,
        ge=1,
        description=(
            "privacy floor: a monitor window with fewer records reports counts and rates only "
            "(no drift per input, no distribution)"
        ),
    )
    monitor_max_group_shift: float = Field(
        0.05,
        gt=0,
        le=1,
        description=(
            "the monitor's event fires when a group's share flagged in the window moved from "
            "its share in the champion's reference by more than this beyond everyone's move "
            "(0.05: five points)"
        ),
    )
    compaction_rows_per_file: int = Field(
        1_000_000,
        ge=1_000,
        description="most records in one compacted file of a closed day of captured scores",
    )
    compaction_row_group_rows: int = Field(
        16_384,
        ge=1_000,
        description=(
            "records per Parquet row group in a compacted file (smaller groups: an audit skips "
            "more of a day by the groups' id statistics)"
        ),
    )
    compaction_after_days: int = Field(
        2,
        ge=1,
        description=(
            "a day of captured scores is compacted once it is this many days old (late flushes "
            "of the day before have landed by then)"
        ),
    )
