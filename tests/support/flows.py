"""Helpers for flow tests: a small synthetic lake and a way to read what the registry holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from fraud_detection.sources.synthetic import generate_lake_partitions

# Small enough to keep a year of monthly runs in tens of seconds; with seed 1237 the year holds
# both promotions (the fraud ring of months 4–8 is learnt) and rejections (stable months).
BASE_ROWS = 4_000
ROWS_PER_MONTH = 1_000


def use_data_dir(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> Settings:
    """Point every Settings() read by flows and tasks at ``data_dir`` (embedded defaults)."""
    monkeypatch.setenv("FRAUD_DATA_DIR", str(data_dir))
    monkeypatch.setenv("FRAUD_BOOTSTRAP_SAMPLES", "200")
    for name in ("FRAUD_LAKE_URI", "FRAUD_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    return Settings()


def seed_lake(settings: Settings, months: int) -> list[str]:
    lake = Lake.from_settings(settings)
    names = []
    for partition in generate_lake_partitions(
        months=months, rows_per_month=ROWS_PER_MONTH, base_rows=BASE_ROWS, seed=settings.seed
    ):
        lake.write(partition.name, partition.frame, partition.truth)
        names.append(partition.name)
    return names[1:]


def versions_by_month(settings: Settings, role: str = "challenger") -> dict[str, list[str]]:
    """Month → its versions of one role: the judged challenger, or the refit served on a win."""
    found: dict[str, list[str]] = {}
    for version in open_registry(settings).versions():
        if version.tags.role == role:
            found.setdefault(version.tags.month or "", []).append(version.version)
    return found


def snapshot(settings: Settings) -> dict[str, object]:
    """Everything a failed run must leave untouched: versions, aliases, lake files."""
    registry = open_registry(settings)
    champion = registry.champion()
    challenger = registry.alias(settings.challenger_alias)
    lake_root = Path(settings.lake)
    files = sorted(
        (str(p.relative_to(lake_root)), p.stat().st_size)
        for p in lake_root.rglob("*")
        if p.is_file()
    )
    return {
        "versions": [(v.version, v.tags.to_tags()) for v in registry.versions()],
        "champion": champion.version if champion else None,
        "challenger": str(challenger.version) if challenger else None,
        "files": files,
    }
