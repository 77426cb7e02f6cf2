"""What ``fraud-detection status`` shows: aliases, versions and quarantined months.

Read from MLflow's SQLite file with the standard library where that is safe (milliseconds),
otherwise through MLflow's client (imported only then: it takes seconds to import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fraud_detection.adapters.registry_sqlite import RegistrySnapshot, read_sqlite
from fraud_detection.config import Settings
from fraud_detection.settings.storage import StorageSettings

if TYPE_CHECKING:
    from fraud_detection.steps.ports import RegistryReader


def snapshot(settings: Settings) -> RegistrySnapshot:
    """The registry's aliases, versions and quarantined months, by the quickest safe way."""
    quick = read_sqlite(settings)
    if quick is not None:
        return quick
    from fraud_detection.adapters.registry import Registry

    return from_registry(Registry(settings), settings)


def from_registry(registry: RegistryReader, settings: StorageSettings) -> RegistrySnapshot:
    """The same snapshot from any registry (MLflow's client, or an in-memory stand-in)."""
    champion = registry.alias(settings.champion_alias)
    challenger = registry.alias(settings.challenger_alias)
    return RegistrySnapshot(
        champion=champion.version if champion else None,
        challenger=challenger.version if challenger else None,
        versions=[(v.version, v.tags.to_tags()) for v in registry.versions()],
        quarantined=registry.quarantined(),
    )
