"""The model being served: one immutable snapshot, swapped atomically."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import xgboost as xgb

from fraud_detection.core.bands import RiskBands
from fraud_detection.core.explain import contributions, reasons
from fraud_detection.core.model_inputs import left_out, select_features, used_features
from fraud_detection.core.records import matrix_and_ids
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

    @cached_property
    def features(self) -> tuple[str, ...]:
        """The features its booster was trained on: read once (a booster call, ~10 µs, that
        every request would otherwise make)."""
        return used_features(self.booster)

    def inputs(self) -> dict[str, list[str]]:
        """The contract's features the model uses and those it leaves out (by its booster)."""
        return {"used": list(self.features), "left_out": list(left_out(self.features))}

    def describe_with_inputs(self) -> dict[str, Any]:
        """``describe`` and the inputs (what ``/model`` answers; ``/score`` keeps it short)."""
        return {**self.describe(), "inputs": self.inputs()}


@dataclass(frozen=True)
class Scored:
    """One request as the model answered it: the input it saw, whose applications they were,
    the unrounded probabilities and the snapshot that gave them (kept by the capture as is)."""

    matrix: np.ndarray  # (n, 54) float32: the whole contract after validation (kept as is)
    ids: np.ndarray  # (n,) float64 SK_ID_CURR, NaN where a record carried none
    probabilities: np.ndarray  # (n,) float64
    model: LoadedModel


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

    def score(self, records: Sequence[Mapping[str, Any]]) -> Scored:
        """One matrix, one ``inplace_predict`` call, on the snapshot taken at the start."""
        model = self._current
        if model is None:
            raise RuntimeError("no model loaded yet")
        matrix, ids = matrix_and_ids(records)
        model_input = select_features(matrix, model.features)  # its columns of the contract
        probabilities = np.asarray(model.booster.inplace_predict(model_input), dtype=np.float64)
        return Scored(matrix, ids, probabilities, model)

    def probabilities(self, records: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, LoadedModel]:
        scored = self.score(records)
        return scored.probabilities, scored.model

    def answer(self, scored: Scored) -> dict[str, Any]:
        """The original contract's response (plus ``is_fraud`` and the model version)."""
        level = self.bands.level
        threshold = scored.model.threshold
        predictions = [
            {"probability": round(p, 4), "risk_level": level(p), "is_fraud": p >= threshold}
            for p in scored.probabilities.tolist()
        ]
        return {"predictions": predictions, "model_version": scored.model.version}

    def predict(self, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return self.answer(self.score(records))

    def explain(
        self, records: Sequence[Mapping[str, Any]], top: int, method: str = "exact"
    ) -> tuple[np.ndarray, list[dict[str, Any]], LoadedModel]:
        """Probabilities as ``probabilities`` gives them and each record's top reasons, all from
        the one snapshot taken at the start (a swap meanwhile changes neither)."""
        scored, found = self.explain_scored(records, top, method)
        return scored.probabilities, found, scored.model

    def explain_scored(
        self, records: Sequence[Mapping[str, Any]], top: int, method: str = "exact"
    ) -> tuple[Scored, list[dict[str, Any]]]:
        """The request as ``score`` answers it (for the capture) and each record's top reasons."""
        scored = self.score(records)
        parts = contributions(scored.model.booster, scored.matrix, method)
        return scored, reasons(parts, scored.matrix, top)
