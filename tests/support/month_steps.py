"""The monthly run's steps on the in-memory lake and registry of tests/support/fakes.py: a small
lake, a first champion, a month gathered and judged — shared by the step tests."""

from __future__ import annotations

from fraud_detection.config import Settings
from fraud_detection.core.tags import Role, Verdict, VersionTags
from fraud_detection.sources.synthetic import generate_lake_partitions
from fraud_detection.steps import challengers, first_champion, intake, judging, pool
from tests.support.fakes import InMemoryLake, InMemoryRegistry, StoredVersion

SETTINGS = Settings(bootstrap_samples=50)


def small_lake() -> InMemoryLake:
    """Base history and three months (small: each training takes about a second)."""
    found = InMemoryLake()
    for part in generate_lake_partitions(
        months=3, rows_per_month=1_200, base_rows=3_000, seed=SETTINGS.seed
    ):
        found.write(part.name, part.frame)
    return found


def bootstrapped(lake: InMemoryLake) -> InMemoryRegistry:
    registry = InMemoryRegistry()
    base = intake.fetch(lake, intake.BASE)
    first_champion.bootstrap_champion(registry, SETTINGS, base, intake.validate(base))
    return registry


def gathered(
    lake: InMemoryLake, registry: InMemoryRegistry, month: str
) -> tuple[intake.MonthData, pool.TrainingInputs]:
    data = intake.fetch(lake, month)
    split = intake.split(SETTINGS, month, intake.validate(data))
    return data, pool.gather(lake, registry, data, split)


def judged(
    lake: InMemoryLake, registry: InMemoryRegistry, month: str
) -> tuple[intake.MonthData, pool.TrainingInputs, judging.Evaluation]:
    data, inputs = gathered(lake, registry, month)
    challenger = challengers.train_challenger(registry, SETTINGS, inputs)
    scores = judging.evaluate(registry, SETTINGS, challenger, inputs.holdout)
    return data, inputs, judging.compare_with_champion(registry, SETTINGS, scores)


def decided(version: str, month: str, decision: str, role: Role = Role.CHALLENGER) -> StoredVersion:
    return StoredVersion(
        version, None, VersionTags(month=month, role=role, decision=Verdict(decision))
    )
