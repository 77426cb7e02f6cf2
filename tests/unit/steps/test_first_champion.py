"""The first champion: trained on the base once, with its holdout metrics."""

from __future__ import annotations

from fraud_detection.core.tags import Role, Verdict
from fraud_detection.steps import (
    first_champion,
    intake,
)
from tests.support.fakes import InMemoryLake
from tests.support.month_steps import SETTINGS, bootstrapped


def test_bootstrap_trains_the_first_champion_once_with_its_holdout_metrics(
    lake: InMemoryLake,
) -> None:
    registry = bootstrapped(lake)
    champion = registry.champion()
    assert champion is not None and champion.tags.role is Role.BOOTSTRAP
    assert champion.tags.decision is Verdict.PROMOTED and champion.tags.month == "base"
    assert 0.5 < champion.tags.holdout["roc_auc"] < 1
    base = intake.fetch(lake, intake.BASE)
    again = first_champion.bootstrap_champion(registry, SETTINGS, base, intake.validate(base))
    assert not again.created and again.version == champion.version
    assert len(registry.versions()) == 1
