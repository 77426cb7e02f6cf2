"""The challenger trained once per month and data, and its refit on the whole month."""

from __future__ import annotations

from fraud_detection.core.tags import Role
from fraud_detection.steps import (
    challengers,
)
from tests.support.fakes import InMemoryLake
from tests.support.month_steps import SETTINGS, bootstrapped, gathered


def test_a_challenger_is_registered_once_per_month_and_data(lake: InMemoryLake) -> None:
    registry = bootstrapped(lake)
    _, inputs = gathered(lake, registry, "2025-01")
    first = challengers.train_challenger(registry, SETTINGS, inputs)
    again = challengers.train_challenger(registry, SETTINGS, inputs)
    assert not first.reused and again.reused and again.version == first.version
    tags = registry.version(first.version).tags
    assert (tags.month, tags.role, tags.data_sha256) == (
        "2025-01",
        Role.CHALLENGER,
        inputs.data_sha256,
    )
    assert tags.threshold == first.threshold and tags.run_id == first.run_id
    run = registry.runs[first.run_id]
    assert run.artifacts["lineage"] == inputs.lineage
    assert "plots/feature_importance.png" in run.artifacts


def test_the_refit_keeps_the_threshold_and_trains_on_the_whole_month(lake: InMemoryLake) -> None:
    registry = bootstrapped(lake)
    _, inputs = gathered(lake, registry, "2025-01")
    challenger = challengers.train_challenger(registry, SETTINGS, inputs)
    version = challengers.refit(registry, SETTINGS, inputs, challenger)
    assert challengers.refit(registry, SETTINGS, inputs, challenger) == version  # reused
    tags = registry.version(version).tags
    assert tags.role is Role.REFIT and tags.refit_of == challenger.version
    assert tags.threshold == challenger.threshold
    judged = registry.version(challenger.version).tags
    assert tags.training_rows == judged.training_rows + len(inputs.holdout)
