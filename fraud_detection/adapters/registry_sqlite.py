"""The registry read straight from MLflow's SQLite file, in milliseconds (for ``status``).

Importing MLflow and its SQL store takes about 2.3 s on a 2-core machine, longer than the whole
answer should. On the embedded SQLite store the same rows are read here with the standard
library's ``sqlite3``, read-only, and only for schema revisions this reader was checked against
(tests/unit/test_registry_view.py compares it with MLflow's client on a real store, and fails
when an MLflow upgrade brings a revision not listed below). Any other store or revision is read
through :class:`fraud_detection.adapters.registry.Registry` (``steps/status.py`` chooses).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fraud_detection.config import Settings
from fraud_detection.core.tags import QuarantineRecord, latest_quarantines

# Alembic revisions of MLflow's schema whose tables this reader knows (MLflow 3.17).
KNOWN_REVISIONS = frozenset({"dc11669786a5"})
WORKSPACE = "default"  # the embedded store has no other
DELETED_VERSION_STAGE = "Deleted_Internal"  # MLflow's mark on a deleted model version


@dataclass(frozen=True)
class RegistrySnapshot:
    """The aliases, every version's tags and the quarantined months, as ``status`` shows them."""

    champion: str | None
    challenger: str | None
    versions: list[tuple[str, dict[str, str]]]  # (version, tags), oldest first
    quarantined: Mapping[str, QuarantineRecord]  # month → latest quarantine record


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
            quarantined=latest_quarantines(_quarantine_runs(db, settings.experiment_name)),
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
