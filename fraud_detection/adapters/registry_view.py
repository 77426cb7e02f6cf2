"""What ``fraud-detection status`` shows of the registry, read in milliseconds where possible.

Importing MLflow and its SQL store takes about 2.3 s on a 2-core machine, longer than the whole
answer should. On the embedded SQLite store the same rows are read here with the standard
library's ``sqlite3``, read-only, and only for schema revisions this reader was checked against
(tests/unit/test_registry_view.py compares it with MLflow's client on a real store, and fails
when an MLflow upgrade brings a revision not listed below). Any other store or revision is read
through :class:`fraud_detection.adapters.registry.Registry`, which gives the same snapshot.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fraud_detection.config import Settings

if TYPE_CHECKING:
    from fraud_detection.adapters.registry import Registry

# Alembic revisions of MLflow's schema whose tables this reader knows (MLflow 3.17).
KNOWN_REVISIONS = frozenset({"dc11669786a5"})
WORKSPACE = "default"  # the embedded store has no other
DELETED_VERSION_STAGE = "Deleted_Internal"  # MLflow's mark on a deleted model version


@dataclass(frozen=True)
class RegistrySnapshot:
    champion: str | None
    challenger: str | None
    versions: list[tuple[str, dict[str, str]]]  # (version, tags), oldest first
    quarantined: dict[str, dict[str, str]]  # month → latest quarantine record


def quarantine_records(runs: Iterable[tuple[str, dict[str, str]]]) -> dict[str, dict[str, str]]:
    """Month → its latest quarantine record, from (run id, tags) of the quarantine runs."""
    found: dict[str, dict[str, str]] = {}
    for run_id, tags in sorted(runs, key=lambda run: run[1].get("quarantined_at", "")):
        found[tags["month"]] = {
            "path": tags.get("quarantined_path", ""),
            "sha256": tags.get("quarantined_sha256", ""),
            "reason": tags.get("quarantine_reason", ""),
            "at": tags.get("quarantined_at", ""),
            "run_id": run_id,
        }
    return found


def snapshot(settings: Settings) -> RegistrySnapshot:
    """The registry's aliases, versions and quarantined months, by the quickest safe way."""
    quick = read_sqlite(settings)
    if quick is not None:
        return quick
    from fraud_detection.adapters.registry import Registry

    return from_registry(Registry(settings))


def from_registry(registry: Registry) -> RegistrySnapshot:
    settings = registry.settings
    champion = registry.alias(settings.champion_alias)
    challenger = registry.alias(settings.challenger_alias)
    return RegistrySnapshot(
        champion=str(champion.version) if champion else None,
        challenger=str(challenger.version) if challenger else None,
        versions=[(str(v.version), dict(v.tags)) for v in registry.versions()],
        quarantined=registry.quarantined(),
    )


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a plain ``sqlite:///`` URI; None for anything else."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix) or "?" in tracking_uri:
        return None
    return Path(tracking_uri.removeprefix(prefix))


def read_sqlite(settings: Settings) -> RegistrySnapshot | None:
    """The snapshot straight from MLflow's SQLite file; None when that is not safely possible."""
    path = sqlite_path(settings.tracking_uri)
    if path is None or not path.is_file():
        return None
    uri = f"{path.resolve().as_uri()}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        try:
            revision = db.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError:
            return None
        if revision is None or revision[0] not in KNOWN_REVISIONS:
            return None
        return RegistrySnapshot(
            champion=_alias(db, settings.model_name, settings.champion_alias),
            challenger=_alias(db, settings.model_name, settings.challenger_alias),
            versions=_versions(db, settings.model_name),
            quarantined=quarantine_records(_quarantine_runs(db, settings.experiment_name)),
        )


def _alias(db: sqlite3.Connection, model: str, alias: str) -> str | None:
    row = db.execute(
        "SELECT version FROM registered_model_aliases"
        " WHERE name = ? AND alias = ? AND workspace = ?",
        (model, alias, WORKSPACE),
    ).fetchone()
    return None if row is None else str(row[0])


def _versions(db: sqlite3.Connection, model: str) -> list[tuple[str, dict[str, str]]]:
    numbers = [
        row[0]
        for row in db.execute(
            "SELECT version FROM model_versions"
            " WHERE name = ? AND workspace = ? AND current_stage != ? ORDER BY version",
            (model, WORKSPACE, DELETED_VERSION_STAGE),
        )
    ]
    tags: dict[int, dict[str, str]] = {number: {} for number in numbers}
    for number, key, value in db.execute(
        "SELECT version, key, value FROM model_version_tags WHERE name = ? AND workspace = ?",
        (model, WORKSPACE),
    ):
        if number in tags:
            tags[number][key] = value
    return [(str(number), tags[number]) for number in numbers]


def _quarantine_runs(db: sqlite3.Connection, experiment: str) -> list[tuple[str, dict[str, str]]]:
    """Active runs of the experiment tagged quarantine=true, newest first (MLflow's order)."""
    runs: dict[str, dict[str, str]] = {}
    for run_id, key, value in db.execute(
        "SELECT r.run_uuid, t.key, t.value FROM runs r"
        " JOIN experiments e ON e.experiment_id = r.experiment_id"
        " JOIN tags t ON t.run_uuid = r.run_uuid"
        " WHERE e.name = ? AND e.workspace = ? AND r.lifecycle_stage = 'active'"
        " AND EXISTS (SELECT 1 FROM tags q WHERE q.run_uuid = r.run_uuid"
        " AND q.key = 'quarantine' AND q.value = 'true')"
        " ORDER BY r.start_time DESC, r.run_uuid",
        (experiment, WORKSPACE),
    ):
        runs.setdefault(run_id, {})[key] = value
    return list(runs.items())
