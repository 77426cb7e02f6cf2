"""Copy the current champion from MLflow into the BentoML model store, so `bentoml build`
bundles it and the bento serves without MLflow."""

from __future__ import annotations

import sys
from pathlib import Path

import bentoml

from fraud_detection.adapters.registry import Registry
from fraud_detection.config import Settings, get_settings
from fraud_detection.serving.bundle import write_bundle
from service.service import BUNDLED_MODEL


def import_champion(settings: Settings) -> str:
    """Save the champion (XGBoost UBJ + metadata) as ``fraud-detector`` → the new model tag."""
    registry = Registry(settings)
    champion = registry.champion()
    if champion is None:
        raise SystemExit(
            f"no {settings.champion_alias!r} alias on {settings.model_name!r}: nothing to bundle"
        )
    booster = registry.load_booster(champion.version)
    metadata = {
        "version": champion.version,
        "threshold": champion.tags.threshold_or(settings.default_threshold),
        "run_id": champion.run_id,
        "model_name": settings.model_name,
        "tags": champion.tags.to_tags(),
    }
    with bentoml.models.create(
        BUNDLED_MODEL,
        metadata={k: str(v) for k, v in metadata.items() if k != "tags"},
        labels={"month": champion.tags.month or "", "registry_version": champion.version},
    ) as model:
        write_bundle(Path(model.path), booster, metadata)
    return str(model.tag)


if __name__ == "__main__":
    print(import_champion(get_settings()))
    sys.exit(0)
