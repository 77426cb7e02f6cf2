"""A model trained elsewhere (an XGBoost JSON/UBJ file on the 54-column contract), registered."""

from __future__ import annotations

from pathlib import Path

from fraud_detection.adapters.model_files import load_model_file
from fraud_detection.core.lineage import RunRecord
from fraud_detection.core.tags import EXTERNAL_MONTH, Role, VersionTags
from fraud_detection.steps.ports import AliasBook


def register_model_file(
    registry: AliasBook, path: Path, *, threshold: float, alias: str | None, champion_alias: str
) -> str:
    """Register an existing XGBoost model file → version number (and set ``alias`` on it)."""
    booster = load_model_file(path)
    tags = VersionTags(
        month=EXTERNAL_MONTH,
        role=Role.EXTERNAL,
        data_sha256="",
        threshold=threshold,
        source_file=path.name,
    )
    run = RunRecord(
        name=f"register-{path.name}",
        params={"source_file": path.name},
        tags={**tags.to_tags(), "source": "register-model"},
    )
    run_id, model_uri = registry.log_model_run(booster, run)
    version = registry.register_version(model_uri, run_id, tags)
    if alias == champion_alias:
        registry.set_champion(version)
    elif alias:
        registry.set_alias(alias, version)
    return version
