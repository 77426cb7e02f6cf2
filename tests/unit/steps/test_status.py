"""The status of any registry: aliases, versions, quarantined months."""

from __future__ import annotations

from fraud_detection.steps import (
    intake,
    status,
)
from tests.support.fakes import InMemoryLake
from tests.support.month_steps import SETTINGS, bootstrapped


def test_status_shows_aliases_versions_and_quarantines_of_any_registry(lake: InMemoryLake) -> None:
    registry = bootstrapped(lake)
    intake.quarantine(registry, intake.fetch(lake, "2025-02"), "bad labels")
    snapshot = status.from_registry(registry, SETTINGS)
    assert (snapshot.champion, snapshot.challenger) == ("1", None)
    assert snapshot.versions[0][0] == "1" and snapshot.versions[0][1]["decision"] == "promoted"
    assert snapshot.quarantined["2025-02"].reason == "bad labels"
