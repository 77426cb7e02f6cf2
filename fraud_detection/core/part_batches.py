"""Feed XGBoost a pool part by part: one float32 batch per partition through its data iterator
into a ``QuantileDMatrix``, so no matrix of the whole pool (float64 or not) is ever built."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from fraud_detection.core.features import FEATURES, TARGET_COLUMN, feature_matrix


@dataclass(frozen=True)
class WeightedPart:
    """One partition's rows and the weight every row of it carries (before positives' weight)."""

    frame: pd.DataFrame
    weight: float


class PartBatches(xgb.DataIter):
    """The parts as XGBoost batches: contract-ordered float32 features, label and row weights.

    Each batch is built when XGBoost asks for it and released after it was sketched and
    quantised, so at most one partition's float32 matrix exists at a time.
    """

    def __init__(self, parts: Sequence[WeightedPart], positive_weight: float) -> None:
        self._parts = [p for p in parts if p.weight > 0 and len(p.frame)]
        self._positive_weight = positive_weight
        self._next = 0
        super().__init__(release_data=True)

    def next(self, input_data: Callable[..., Any]) -> bool:
        if self._next == len(self._parts):
            return False
        part = self._parts[self._next]
        y = part.frame[TARGET_COLUMN].to_numpy(dtype=np.float32)
        weight = part.weight * np.where(y == 1, self._positive_weight, 1.0).astype(np.float32)
        input_data(
            data=feature_matrix(part.frame), label=y, weight=weight, feature_names=list(FEATURES)
        )
        self._next += 1
        return True

    def reset(self) -> None:
        self._next = 0


def pool_matrix(parts: Sequence[WeightedPart], positive_weight: float) -> xgb.QuantileDMatrix:
    """The quantised training matrix of ``parts``, streamed one partition at a time."""
    if not any(p.weight > 0 and len(p.frame) for p in parts):
        raise ValueError("no training rows with a positive weight")
    return xgb.QuantileDMatrix(PartBatches(parts, positive_weight))
