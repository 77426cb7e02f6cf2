"""Fit the XGBoost challenger and choose its decision threshold on validation data only."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import precision_recall_curve
from sklearn.model_selection import train_test_split

from fraud_detection.config import XGBoostParams
from fraud_detection.dataset import undersample
from fraud_detection.features import TARGET_COLUMN, feature_frame, feature_matrix


@dataclass(frozen=True)
class TrainedModel:
    model: xgb.XGBClassifier
    threshold: float  # maximises F1 on the validation split (natural fraud rate)
    validation_f1: float
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def booster(self) -> xgb.Booster:
        return self.model.get_booster()


def best_f1_threshold(y_true: np.ndarray, probability: np.ndarray) -> tuple[float, float]:
    """The probability cut-off with the highest F1, and that F1."""
    precision, recall, thresholds = precision_recall_curve(y_true, probability)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    if not len(thresholds):
        return 0.5, 0.0
    best = int(np.argmax(f1[:-1]))  # the last PR point has no threshold
    return float(thresholds[best]), float(f1[best])


def train(
    pool: pd.DataFrame,
    params: XGBoostParams,
    *,
    train_positive_rate: float,
    validation_fraction: float,
    seed: int,
) -> TrainedModel:
    """Split off validation at the natural rate, undersample the rest, fit, pick the threshold."""
    if pool[TARGET_COLUMN].nunique() < 2:
        raise ValueError("training data holds a single class; a classifier cannot be trained")
    fit_part, validation = train_test_split(
        pool,
        test_size=validation_fraction,
        random_state=seed % (2**31),
        stratify=pool[TARGET_COLUMN],
    )
    balanced = undersample(fit_part, positive_rate=train_positive_rate, seed=seed)
    model = xgb.XGBClassifier(
        **params.model_dump(), random_state=seed, objective="binary:logistic", eval_metric="aucpr"
    )
    model.fit(feature_frame(balanced), balanced[TARGET_COLUMN].to_numpy())
    probability = model.get_booster().inplace_predict(feature_matrix(validation))
    threshold, f1 = best_f1_threshold(validation[TARGET_COLUMN].to_numpy(), probability)
    rows = {
        "pool_rows": len(pool),
        "fit_rows": len(balanced),
        "fit_positives": int(balanced[TARGET_COLUMN].sum()),
        "validation_rows": len(validation),
        "validation_positives": int(validation[TARGET_COLUMN].sum()),
    }
    return TrainedModel(model=model, threshold=threshold, validation_f1=f1, rows=rows)
