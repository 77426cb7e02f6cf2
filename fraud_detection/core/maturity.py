"""Label maturity: a month's labels are trusted only once enough time has let frauds be confirmed.

A fraud is confirmed weeks or months after the application, so a month delivered early holds
only part of its frauds: its holdout carries the same missing frauds and the gate sees nothing.
Two rules, either holds the month: the labels were taken sooner than the maturity after the
month's end, or the month's fraud rate lies below what the recent matured months make likely
(a one-sided prediction bound on the log rate: their spread, at least a floor, plus the month's
own sampling noise), so an honest drift of the fraud rate is not mistaken for missing labels."""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import date
from statistics import NormalDist, fmean, stdev

from fraud_detection.core.holds import Hold

IMMATURE_TAG = "immature_delivery"  # on a held version: the delivery whose labels were immature


@dataclass(frozen=True)
class MonthLabels:
    """What a delivery says about its labels: rows, frauds, and when the labels were taken."""

    month: str  # YYYY-MM
    rows: int
    frauds: int
    labels_as_of: date | None  # None: the delivery does not say (no age rule)

    @property
    def fraud_rate(self) -> float:
        return self.frauds / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class MaturityRule:
    """When a month's labels count as complete (the settings' maturity and confidence)."""

    maturity_days: int
    confidence: float
    spread: float  # smallest month-to-month spread of the log fraud rate


def month_end(month: str) -> date:
    year, number = (int(part) for part in month.split("-"))
    return date(year, number, calendar.monthrange(year, number)[1])


def label_age_days(month: str, labels_as_of: date) -> int:
    """Days from the month's last day to when its labels were taken."""
    return (labels_as_of - month_end(month)).days


def likely_floor(reference_rates: list[float], frauds: int, rule: MaturityRule) -> float | None:
    """The lowest fraud rate the matured months make likely for a month with ``frauds`` frauds,
    or None with fewer than two matured months (nothing to judge against)."""
    logs = [math.log(rate) for rate in reference_rates if rate > 0]
    if len(logs) < 2:
        return None
    spread = max(stdev(logs), rule.spread)
    own_noise = 1 / max(frauds, 1)  # variance of a log count (Poisson)
    total = math.sqrt(spread**2 * (1 + 1 / len(logs)) + own_noise)
    z = NormalDist().inv_cdf(rule.confidence)
    return math.exp(fmean(logs) - z * total)


def maturity_holds(
    labels: MonthLabels, reference_rates: list[float], rule: MaturityRule
) -> list[Hold]:
    """Holds of an immature month: labels too young, or a fraud rate unlikely low."""
    holds = []
    if labels.labels_as_of is not None and rule.maturity_days > 0:
        age = label_age_days(labels.month, labels.labels_as_of)
        if age < rule.maturity_days:
            holds.append(
                Hold(
                    "maturity",
                    f"The labels of {labels.month} were taken {age} days after its end "
                    f"({labels.labels_as_of.isoformat()}); they count as complete after "
                    f"{rule.maturity_days}.",
                )
            )
    floor = likely_floor(reference_rates, labels.frauds, rule)
    if floor is not None and labels.fraud_rate < floor:
        holds.append(
            Hold(
                "maturity",
                f"{labels.month}'s fraud rate {labels.fraud_rate:.2%} is below the "
                f"{floor:.2%} that the {len(reference_rates)} recent matured months make likely "
                f"({rule.confidence:.0%} confidence): its frauds may not all be labelled yet.",
            )
        )
    return holds
