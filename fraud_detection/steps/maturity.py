"""Label maturity as a step: is the month's delivery complete enough to be judged?

The reference is the recent matured months: judged months not held (a held month may be the
immature one), their holdout fraud rate as the registry recorded it. A held immature month is
judged again when a later delivery of it comes (``awaits_redelivery``)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from fraud_detection.core.features import TARGET_COLUMN
from fraud_detection.core.holds import Hold
from fraud_detection.core.maturity import IMMATURE_TAG, MaturityRule, MonthLabels, maturity_holds
from fraud_detection.core.tags import BASE_MONTH, EXTERNAL_MONTH, Verdict, VersionTags
from fraud_detection.settings.capacity import CapacitySettings
from fraud_detection.steps.ports import DecisionWriter, LakeReader, RegistryReader


def reference_rates(registry: RegistryReader, month: str, history: int) -> list[float]:
    """The holdout fraud rates of the latest matured months before ``month``, oldest first."""
    first = (BASE_MONTH, EXTERNAL_MONTH)
    matured = sorted(
        (
            v.tags
            for v in registry.versions()
            if v.tags.judged
            and v.tags.month
            and v.tags.month not in first
            and v.tags.month < month
            and v.tags.decision != Verdict.HELD
            and "fraud_rate" in v.tags.holdout
        ),
        key=lambda t: t.month or "",
    )
    return [t.holdout["fraud_rate"] for t in matured[-history:]]


def rule_of(settings: CapacitySettings) -> MaturityRule:
    return MaturityRule(
        settings.label_maturity_days, settings.maturity_confidence, settings.maturity_rate_spread
    )


def check_maturity(
    registry: RegistryReader,
    settings: CapacitySettings,
    month: str,
    clean: pd.DataFrame,
    labels_as_of: date | None,
) -> list[Hold]:
    """Holds of an immature month (labels too young, or a fraud rate unlikely low)."""
    labels = MonthLabels(month, len(clean), int(clean[TARGET_COLUMN].sum()), labels_as_of)
    rates = reference_rates(registry, month, settings.maturity_history)
    return maturity_holds(labels, rates, rule_of(settings))


def mark_immature(registry: DecisionWriter, version: str, delivery: str | None) -> None:
    """Tag the held version with the immature delivery, so a later one is judged again."""
    registry.set_tags(version, VersionTags(other={IMMATURE_TAG: delivery or "unknown"}))


def immature_months(registry: RegistryReader) -> dict[str, str]:
    """Months decided only as immature → the delivery held (left out of training pools)."""
    held: dict[str, str] = {}
    matured: set[str] = set()
    for version in registry.versions():
        tags = version.tags
        if not tags.judged or tags.month is None:
            continue
        immature = tags.other.get(IMMATURE_TAG)
        if immature is not None:
            held[tags.month] = immature
        else:
            matured.add(tags.month)
    return {month: path for month, path in held.items() if month not in matured}


def awaiting_judgement(lake: LakeReader, registry: RegistryReader) -> set[str]:
    """Months held as immature whose delivery in force is a later one: judged again."""
    return {
        month for month, path in immature_months(registry).items() if lake.latest(month) != path
    }
