from __future__ import annotations

import itertools
import shutil
import sqlite3
from pathlib import Path

import pytest

from fraud_detection.adapters.registry import Registry
from fraud_detection.adapters.registry_sqlite import KNOWN_REVISIONS, read_sqlite, sqlite_path
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from fraud_detection.core.tags import QuarantineRecord, VersionTags
from fraud_detection.core.training import TrainedModel
from fraud_detection.steps.status import from_registry, snapshot
from tests.support.models import register_small


@pytest.fixture
def busy_registry(
    settings: Settings, trained: TrainedModel, monkeypatch: pytest.MonkeyPatch
) -> Registry:
    """Versions with tags, both aliases, a deleted version, quarantines (one of them deleted)."""
    clock = (f"2026-01-01T00:00:{second:02d}Z" for second in itertools.count())
    monkeypatch.setattr("fraud_detection.adapters.registry.utc_now", lambda: next(clock))
    registry = open_registry(settings)
    v1, v2, v3, v4 = (
        register_small(registry, trained, m) for m in ("base", "2025-01", "2025-02", "x")
    )
    registry.set_tags(v2, VersionTags.from_tags({"decision": "promoted", "role": "challenger"}))
    registry.promote(v1, expected_champion=None)
    registry.promote(v2, expected_champion=v1)
    registry.set_challenger(v3)
    registry.client.delete_model_version(registry.name, v4)
    for month, path, sha256, reason in [
        ("2025-03", "incoming/month=2025-03/applications.parquet", "a", "bad labels"),
        ("2025-03", "incoming/month=2025-03/applications-2.parquet", "b", "still bad"),
        ("2025-04", "incoming/month=2025-04/applications.csv", "c", "no column"),
        ("2025-05", "incoming/month=2025-05/applications.csv", "d", "withdrawn"),
    ]:
        registry.quarantine(QuarantineRecord(month, path, sha256, reason, next(clock)))
    withdrawn = registry.quarantined()["2025-05"].run_id
    registry.client.delete_run(withdrawn)
    return registry


def test_the_sqlite_reader_sees_what_mlflows_client_sees(busy_registry: Registry) -> None:
    quick = read_sqlite(busy_registry.settings)
    assert quick is not None
    assert quick == from_registry(busy_registry, busy_registry.settings)
    assert (quick.champion, quick.challenger) == ("2", "3")
    assert [version for version, _ in quick.versions] == ["1", "2", "3"]
    assert quick.versions[1][1]["decision"] == "promoted"
    assert sorted(quick.quarantined) == ["2025-03", "2025-04"]
    assert quick.quarantined["2025-03"].reason == "still bad"
    assert quick.quarantined["2025-03"].path.endswith("applications-2.parquet")


def test_the_installed_mlflow_writes_a_schema_revision_the_reader_knows(
    busy_registry: Registry,
) -> None:
    # Fails after an MLflow upgrade that migrates the schema: check the reader's queries
    # against the new tables, then add the revision to KNOWN_REVISIONS.
    path = sqlite_path(busy_registry.settings.tracking_uri)
    assert path is not None
    with sqlite3.connect(path) as db:
        (revision,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
    assert revision in KNOWN_REVISIONS


def test_an_unknown_schema_revision_is_left_to_mlflow(
    busy_registry: Registry, tmp_path: Path
) -> None:
    path = sqlite_path(busy_registry.settings.tracking_uri)
    assert path is not None
    copy = tmp_path / "migrated.db"
    shutil.copy(path, copy)
    with sqlite3.connect(copy) as db:
        db.execute("UPDATE alembic_version SET version_num = 'not-known-here'")
    assert read_sqlite(Settings(mlflow_tracking_uri=f"sqlite:///{copy}")) is None


def test_a_store_that_is_not_a_plain_sqlite_file_is_read_through_mlflow(
    settings: Settings,
) -> None:
    assert sqlite_path("http://mlflow:5000") is None
    assert sqlite_path("postgresql://u:p@db/mlflow") is None
    assert sqlite_path("sqlite:////data/mlflow.db") == Path("/data/mlflow.db")
    # No database file yet: MLflow creates it, the snapshot is empty
    assert read_sqlite(settings) is None
    empty = snapshot(settings)
    assert (empty.champion, empty.challenger, empty.versions, empty.quarantined) == (
        None,
        None,
        [],
        {},
    )
