"""Bundles: a champion carried inside a bento (XGBoost UBJ + its metadata; nothing pickled)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import xgboost as xgb

from fraud_detection.adapters.model_files import check_booster, named_in_contract
from fraud_detection.core.tags import VersionTags
from fraud_detection.serving.model import LoadedModel

BUNDLE_METADATA = "bundle.json"
BUNDLE_MODEL = "model.ubj"


def write_bundle(destination: Path, booster: xgb.Booster, metadata: Mapping[str, Any]) -> None:
    """Save the model in XGBoost's own format with its metadata beside it."""
    destination.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(destination / BUNDLE_MODEL))
    (destination / BUNDLE_METADATA).write_text(json.dumps(dict(metadata), indent=2, sort_keys=True))


def load_bundle(source: Path) -> LoadedModel:
    """Read a bundled model (UBJ; nothing is unpickled) and its metadata."""
    metadata = json.loads((source / BUNDLE_METADATA).read_text())
    booster = xgb.Booster()
    booster.load_model(str(source / BUNDLE_MODEL))
    check_booster(booster)
    return LoadedModel(
        named_in_contract(booster),
        str(metadata["version"]),
        float(metadata["threshold"]),
        "bundle",
        metadata.get("run_id"),
        VersionTags.from_tags({k: str(v) for k, v in metadata.get("tags", {}).items()}),
    )
