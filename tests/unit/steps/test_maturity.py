"""An immature month is held and left out of pools; a mature delivery of it is judged."""

from __future__ import annotations

from datetime import date

import pandas as pd

from fraud_detection.config import Settings
from fraud_detection.core.tags import Role, Verdict, VersionTags
from fraud_detection.steps import maturity, months
from tests.support.fakes import InMemoryLake, InMemoryRegistry, StoredVersion

MATURED = {"2025-01": 0.050, "2025-02": 0.047, "2025-03": 0.053, "2025-04": 0.049}


def month_of(rows: int, frauds: int) -> pd.DataFrame:
    return pd.DataFrame({"TARGET": [1] * frauds + [0] * (rows - frauds)})


def decided_registry() -> InMemoryRegistry:
    registry = InMemoryRegistry()
    for number, (month, rate) in enumerate(MATURED.items(), start=1):
        tags = VersionTags(
            month=month,
            role=Role.CHALLENGER,
            decision=Verdict.PROMOTED,
            holdout={"fraud_rate": rate},
        )
        registry.stored.append(StoredVersion(str(number), None, tags))
    return registry


def test_an_immature_month_is_held_then_its_mature_delivery_judged(settings: Settings) -> None:
    settings = settings.model_copy(update={"label_maturity_days": 60})
    registry = decided_registry()
    lake = InMemoryLake()
    for month in [*MATURED, "2025-05"]:
        lake.write(month, month_of(10, 1))
    early = month_of(7_680, 190)  # half the usual frauds, labels taken 10 days after the month
    holds = maturity.check_maturity(registry, settings, "2025-05", early, date(2025, 6, 10))
    assert [hold.check for hold in holds] == ["maturity", "maturity"]  # too young, rate too low

    # The flow holds it and tags the delivery; the schedule then counts the month as decided.
    held = VersionTags(month="2025-05", role=Role.CHALLENGER, decision=Verdict.HELD)
    registry.stored.append(StoredVersion("5", None, held))
    maturity.mark_immature(registry, "5", lake.latest("2025-05"))
    assert maturity.immature_months(registry) == {"2025-05": "mem://2025-05/applications-1.parquet"}
    assert months.next_month(lake, registry) is None
    assert months.already_decided(registry, "2025-05", lake) is not None
    assert "2025-05" not in maturity.reference_rates(registry, "2025-06", 6)

    # A later delivery with its labels complete: judged again, and not held.
    lake.write("2025-05", month_of(10, 2))
    assert months.next_month(lake, registry) == "2025-05"
    assert months.already_decided(registry, "2025-05", lake) is None
    complete = month_of(7_680, 385)
    assert maturity.check_maturity(registry, settings, "2025-05", complete, date(2025, 8, 1)) == []

    # Once judged on the mature delivery, the month is decided and back in training pools.
    judged = VersionTags(month="2025-05", role=Role.CHALLENGER, decision=Verdict.PROMOTED)
    registry.stored.append(StoredVersion("6", None, judged))
    assert maturity.immature_months(registry) == {}
    assert months.next_month(lake, registry) is None


def test_reference_rates_are_the_recent_matured_months(settings: Settings) -> None:
    registry = decided_registry()
    assert maturity.reference_rates(registry, "2025-04", 6) == [0.050, 0.047, 0.053]
    assert maturity.reference_rates(registry, "2025-09", 2) == [0.053, 0.049]
    honest = month_of(7_680, 330)  # the fraud rate down by 13 %: drift, not missing labels
    assert maturity.check_maturity(registry, settings, "2025-05", honest, None) == []


def test_the_defaults_tell_a_falling_fraud_rate_from_half_the_labels(settings: Settings) -> None:
    # The "rate_drift" schedule's fraud rate falls from 8 % to 5 %; half the labels of an 8 %
    # month missing leave 4 %.
    registry = InMemoryRegistry()
    for number in range(1, 7):
        tags = VersionTags(
            month=f"2025-0{number}",
            role=Role.CHALLENGER,
            decision=Verdict.PROMOTED,
            holdout={"fraud_rate": 0.08 + (number % 2) * 0.003},
        )
        registry.stored.append(StoredVersion(str(number), None, tags))
    honest = month_of(7_680, round(0.047 * 7_680))  # 5 %, one sampling error low
    assert maturity.check_maturity(registry, settings, "2025-07", honest, None) == []
    half = month_of(7_680, round(0.04 * 7_680))
    assert len(maturity.check_maturity(registry, settings, "2025-07", half, None)) == 1
