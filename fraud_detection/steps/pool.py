"""The training pool of a month: base history, every earlier decided month and the month's own
training part, each with its age, and the lineage of exactly those partitions."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from fraud_detection.core.dataset import MonthSplit, month_age
from fraud_detection.core.lineage import PartitionRef, lineage_hash
from fraud_detection.core.training import TrainingPart
from fraud_detection.steps.intake import BASE, MonthData, fetch, validate
from fraud_detection.steps.ports import Deliveries, RegistryView


@dataclass(frozen=True)
class TrainingInputs:
    """What a month's challenger is trained and judged on; ``data_sha256`` is its reuse key."""

    month: str
    parts: list[TrainingPart]  # base, earlier decided months, this month's training part
    holdout: pd.DataFrame  # this month's held-out rows (judging only; the refit uses them)
    lineage: list[PartitionRef]  # every partition once: base, earlier months, the month
    data_sha256: str  # lineage_hash(lineage)


def gather(
    lake: Deliveries, registry: RegistryView, data: MonthData, month_split: MonthSplit
) -> TrainingInputs:
    """Base + decided earlier months + this month's training part, with ages and lineage."""
    month = data.ref.name
    decided = registry.decided_months()
    earlier = [m for m in lake.list_months() if m < month and m in decided]
    base = fetch(lake, BASE)
    oldest = min([*earlier, month])
    parts = [TrainingPart(BASE, validate(base), month_age(month, oldest) + 1)]
    lineage = [base.ref]
    for name in earlier:
        earlier_data = fetch(lake, name)
        parts.append(TrainingPart(name, validate(earlier_data), month_age(month, name)))
        lineage.append(earlier_data.ref)
    lineage.append(data.ref)  # the month itself: its bytes are part of the reuse key
    parts.append(TrainingPart(month, month_split.train, 0.0))
    return TrainingInputs(month, parts, month_split.holdout, lineage, lineage_hash(lineage))
