"""The training pool of a month: base history, every earlier decided month and the month's own
training part, each with its age, and the lineage of exactly those partitions.

The earlier months and the base are not held: each is validated in one streaming pass when the
pool is gathered (only its counts are kept) and read again from the lake, chunk by chunk, when
the training matrix asks for its rows. Months whose history weight is below the floor leave the
pool, and so its lineage: a partition not trained on is not part of the reuse key.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pandas as pd

from fraud_detection.adapters.partition_files import column_names, decode_columns
from fraud_detection.core.dataset import MonthSplit, month_age
from fraud_detection.core.features import (
    COLUMN_ALIASES,
    INPUT_FEATURES,
    TARGET_COLUMN,
)
from fraud_detection.core.lineage import PartitionRef, lineage_hash
from fraud_detection.core.recipe import recency_weight
from fraud_detection.core.training import TrainingPart
from fraud_detection.core.training_batches import Batch, batch_of_columns
from fraud_detection.settings.training import TrainingSettings
from fraud_detection.steps.intake import BASE, MonthData, MonthError, fetch, validate_streamed
from fraud_detection.steps.maturity import immature_months
from fraud_detection.steps.ports import LakeReader, RegistryReader

CHUNK_ROWS = 65_536  # rows decoded at a time: bounds a read's memory whatever the partition


@dataclass(frozen=True)
class HistoryFloor:
    """Partitions whose stage-1 weight ``0.5 ** (age / half_life)`` is below ``weight`` are
    left out of the pool (0: none is)."""

    weight: float = 0.0
    half_life: float = 0.0

    @classmethod
    def of(cls, settings: TrainingSettings) -> HistoryFloor:
        return cls(settings.history_floor, settings.history_half_life_months)

    def keeps(self, age: float) -> bool:
        return recency_weight(age, self.half_life) >= self.weight


@dataclass(frozen=True)
class PoolPlan:
    """Which partitions a month trains on, oldest first, with their ages in months: the base and
    every earlier decided month, less those below the history floor. Both trainers (in process
    and on a Dask cluster) gather the partitions this plan names."""

    month: str
    ages: dict[str, float]  # every candidate, oldest first
    kept: list[str]
    left_out: list[str]

    @classmethod
    def of(
        cls, lake: LakeReader, registry: RegistryReader, month: str, floor: HistoryFloor | None
    ) -> PoolPlan:
        decided = registry.decided_months() - set(immature_months(registry))  # immature: out
        earlier = [m for m in lake.list_months() if m < month and m in decided]
        oldest = min([*earlier, month])
        ages = {BASE: month_age(month, oldest) + 1, **{m: month_age(month, m) for m in earlier}}
        floor = floor or HistoryFloor()
        kept = [name for name in ages if floor.keeps(ages[name])]
        return cls(month, ages, kept, [name for name in ages if name not in kept])


@dataclass(frozen=True)
class LakeRows:
    """A validated partition read from the lake when its rows are asked for, never held."""

    lake: LakeReader
    ref: PartitionRef
    rows: int
    positives: int
    chunk_rows: int = CHUNK_ROWS

    def batches(self) -> Iterator[Batch]:
        raw, ref = self.lake.fetch(self.ref.name)
        if (ref.path, ref.sha256) != (self.ref.path, self.ref.sha256):
            # The lineage names the bytes validated at gather time: train on those or on none.
            raise MonthError(
                f"{ref.path}: the delivery in force changed while the pool was being trained "
                f"(validated {self.ref.path} sha256 {self.ref.sha256[:12]}…)"
            )
        needed = {*INPUT_FEATURES, TARGET_COLUMN}
        columns = [c for c in column_names(ref, raw) if COLUMN_ALIASES.get(c, c) in needed]
        for chunk in decode_columns(ref, raw, self.chunk_rows, columns):
            yield batch_of_columns(chunk)


@dataclass(frozen=True)
class TrainingInputs:
    """What a month's challenger is trained and judged on; ``data_sha256`` is its reuse key."""

    month: str
    parts: list[TrainingPart]  # base, earlier decided months, this month's training part
    holdout: pd.DataFrame  # this month's held-out rows (judging only; the refit uses them)
    lineage: list[PartitionRef]  # every partition trained on once: base, earlier, the month
    data_sha256: str  # lineage_hash(lineage)
    left_out: list[str] = field(default_factory=list)  # below the history floor, oldest first

    @property
    def partition_names(self) -> list[str]:
        """The partitions trained on, oldest first."""
        return [p.name for p in self.parts]


@dataclass(frozen=True)
class PoolUse:
    """Which partitions a month's pool trained on, and which the history floor left out."""

    used: list[str]
    left_out: list[str]
    floor: float

    @classmethod
    def of(cls, inputs: TrainingInputs, floor: float) -> PoolUse:
        return cls(inputs.partition_names, list(inputs.left_out), floor)


def gather(
    lake: LakeReader,
    registry: RegistryReader,
    data: MonthData,
    month_split: MonthSplit,
    *,
    floor: HistoryFloor | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> TrainingInputs:
    """Base + decided earlier months + this month's training part, with ages and lineage."""
    plan = PoolPlan.of(lake, registry, data.ref.name, floor)
    parts, lineage = [], []
    for name in plan.kept:
        counted = validate_streamed(fetch(lake, name), chunk_rows)  # its bytes dropped here
        rows = LakeRows(lake, counted.ref, counted.rows, counted.positives, chunk_rows)
        parts.append(TrainingPart(name, rows, plan.ages[name]))
        lineage.append(counted.ref)
    lineage.append(data.ref)  # the month itself: its bytes are part of the reuse key
    parts.append(TrainingPart(plan.month, month_split.train, 0.0))
    return TrainingInputs(
        plan.month, parts, month_split.holdout, lineage, lineage_hash(lineage), plan.left_out
    )
