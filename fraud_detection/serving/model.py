"""The model being served: one immutable snapshot, swapped atomically."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xgboost as xgb

from fraud_detection.core.bands import RiskBands
from fraud_detection.core.explain import contributions, reasons
from fraud_detection.core.records import matrix_from_records
from fraud_detection.core.tags import VersionTags


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to answer: its booster, version, threshold and where it came from."""

    booster: xgb.Booster
    version: str
    threshold: float
    source: str  # "mlflow" or "bundle"
    run_id: str | None = None
    tags: VersionTags = field(default_factory=VersionTags)
    loaded_at: str = field(
        default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    )

    def describe(self) -> dict[str, Any]:
        metrics = {k: v for k, v in self.tags.to_tags().items() if k.startswith("holdout_")}
        return {
            "version": self.version,
            "run_id": self.run_id,
            "source": self.source,
            "month": self.tags.month,
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

    def explain(
        self, records: Sequence[Mapping[str, Any]], top: int
    ) -> tuple[np.ndarray, list[dict[str, Any]], LoadedModel]:
        """Probabilities as ``probabilities`` gives them and each record's top reasons, all from
        the one snapshot taken at the start (a swap meanwhile changes neither)."""
        model = self._current
        if model is None:
            raise RuntimeError("no model loaded yet")
        matrix = matrix_from_records(records)
        probabilities = np.asarray(model.booster.inplace_predict(matrix), dtype=np.float64)
        return probabilities, reasons(contributions(model.booster, matrix), matrix, top), model
