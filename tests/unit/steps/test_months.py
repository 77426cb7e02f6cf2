"""Which month comes next, and when a month counts as decided."""

from __future__ import annotations

from fraud_detection.core.tags import Role
from fraud_detection.steps import (
    intake,
    months,
)
from tests.support.fakes import InMemoryLake, InMemoryRegistry
from tests.support.month_steps import decided


def test_the_next_month_skips_decided_and_quarantined_months_until_corrected() -> None:
    lake = InMemoryLake({"2025-01": [b"a"], "2025-02": [b"b"], "2025-03": [b"c"]})
    registry = InMemoryRegistry(stored=[decided("1", "2025-01", "promoted")])
    assert months.next_month(lake, registry) == "2025-02"

    intake.quarantine(registry, intake.fetch(lake, "2025-02"), "labels look shuffled")
    assert months.next_month(lake, registry) == "2025-03"

    lake.partitions["2025-02"][-1] = b"replaced in place"  # same path, other bytes
    assert months.next_month(lake, registry) == "2025-02"
    lake.partitions["2025-02"] = [b"b", b"corrected"]  # a corrected delivery beside the old one
    assert months.next_month(lake, registry) == "2025-02"

    registry.stored += [
        decided("2", "2025-02", "rejected"),
        decided("3", "2025-03", "quarantined"),
    ]
    assert months.next_month(lake, registry) == "2025-03"  # quarantined is no decision


def test_a_month_is_decided_by_its_challenger_not_by_its_refit() -> None:
    registry = InMemoryRegistry(stored=[decided("4", "2025-05", "promoted", role=Role.REFIT)])
    assert months.already_decided(registry, "2025-05") is None
    registry.stored.append(decided("3", "2025-05", "rejected"))
    assert months.already_decided(registry, "2025-05") == {"version": "3", "decision": "rejected"}
    assert months.already_decided(registry, "2025-06") is None
