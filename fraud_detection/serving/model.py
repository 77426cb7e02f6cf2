"""Serving core: the current model as one immutable snapshot, swapped atomically, and a follower
that polls the registry's ``champion`` alias and loads a new version off the request path."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from fraud_detection.adapters.model_files import check_booster
from fraud_detection.adapters.registry import Registry
from fraud_detection.config import Settings
from fraud_detection.core.features import FEATURES, RiskBands
from fraud_detection.core.records import matrix_from_records
from fraud_detection.core.redact import redact_text

logger = logging.getLogger("fraud_detection.serving.model")
BUNDLE_METADATA = "bundle.json"
BUNDLE_MODEL = "model.ubj"


@dataclass(frozen=True)
class LoadedModel:
    booster: xgb.Booster
    version: str
    threshold: float
    source: str  # "mlflow" or "bundle"
    run_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    loaded_at: str = field(
        default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    )

    def describe(self) -> dict[str, Any]:
        metrics = {k: v for k, v in self.tags.items() if k.startswith("holdout_")}
        return {
            "version": self.version,
            "run_id": self.run_id,
            "source": self.source,
            "month": self.tags.get("month"),
            "threshold": self.threshold,
            "metrics": metrics,
            "loaded_at": self.loaded_at,
        }


class ModelHolder:
    """Requests read ``current`` once; a swap is one attribute assignment, so a request in flight
    finishes on the model it started with and no request ever sees a half-loaded model."""

    def __init__(self, bands: RiskBands, predict_threads: int = 1) -> None:
        self.bands = bands
        self.predict_threads = predict_threads
        self._current: LoadedModel | None = None

    @property
    def current(self) -> LoadedModel | None:
        return self._current

    def swap(self, model: LoadedModel) -> None:
        # Set before the swap: the booster is not yet visible to any request.
        model.booster.set_param({"nthread": self.predict_threads})
        self._current = model

    def probabilities(self, records: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, LoadedModel]:
        """One matrix, one ``inplace_predict`` call, on the snapshot taken at the start."""
        model = self._current
        if model is None:
            raise RuntimeError("no model loaded yet")
        matrix = matrix_from_records(records)
        return np.asarray(model.booster.inplace_predict(matrix), dtype=np.float64), model

    def predict(self, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """The original contract's response (plus ``is_fraud`` and the model version)."""
        probabilities, model = self.probabilities(records)
        level = self.bands.level
        threshold = model.threshold
        predictions = [
            {"probability": round(p, 4), "risk_level": level(p), "is_fraud": p >= threshold}
            for p in probabilities.tolist()
        ]
        return {"predictions": predictions, "model_version": model.version}


class ChampionFollower:
    """Polls the registry and swaps in each new champion; keeps serving when MLflow is down."""

    def __init__(self, settings: Settings, holder: ModelHolder) -> None:
        self.settings = settings
        self.holder = holder
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._registry: Registry | None = None

    def refresh(self) -> bool:
        """Load the champion if it changed; True when a new model was swapped in."""
        try:
            self._registry = self._registry or Registry(self.settings)
            champion = self._registry.champion()
            current = self.holder.current
            if champion is None or (
                current is not None
                and current.version == champion.version
                and current.source == "mlflow"
            ):
                return False
            booster = self._registry.load_booster(champion.version)
            check_booster(booster)
            self.holder.swap(
                LoadedModel(
                    booster,
                    champion.version,
                    champion.threshold,
                    "mlflow",
                    champion.run_id,
                    champion.tags,
                )
            )
            logger.info("serving %s version %s", self.settings.model_name, champion.version)
            return True
        except Exception as exc:  # any registry failure: keep the model we have
            secrets = [s.get_secret_value() for s in (self.settings.s3_secret_access_key,) if s]
            logger.warning(
                "champion refresh failed, keeping the current model: %s",
                redact_text(f"{type(exc).__name__}: {exc}", secrets)[:500],
            )
            return False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="champion-follower", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.refresh_interval_s):
            self.refresh()

    def stop(self) -> None:
        self._stop.set()


# -- bundles: a champion carried inside a bento ------------------------------------------------
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
    booster.feature_names = list(FEATURES)
    return LoadedModel(
        booster,
        str(metadata["version"]),
        float(metadata["threshold"]),
        "bundle",
        metadata.get("run_id"),
        {k: str(v) for k, v in metadata.get("tags", {}).items()},
    )
