"""Captured scores as the service writes them (core/scored.py), made from applications: the
tests write them with ``ScoredStore.write`` where the service would."""

from __future__ import annotations

import uuid
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import xgboost as xgb

from fraud_detection.core.bands import RiskBands
from fraud_detection.core.evaluation import predict_proba
from fraud_detection.core.features import FEATURES, feature_matrix
from fraud_detection.core.scored import SCORED_COLUMNS, scored_schema

SHIFTED = ("DAYS_BIRTH", "AMT_ANNUITY", "FLAG_OWN_CAR", "REGION_RATING_CLIENT")


def shifted(frame: pd.DataFrame) -> pd.DataFrame:
    """The same applications with four inputs moved on purpose (none feeds the derived ratio):
    ten years older, a larger annuity, car ownership flipped, every region rated 3."""
    return frame.assign(
        DAYS_BIRTH=(frame["DAYS_BIRTH"] - 3_650).clip(lower=-43_830),
        AMT_ANNUITY=frame["AMT_ANNUITY"] * 1.8,
        FLAG_OWN_CAR=1 - frame["FLAG_OWN_CAR"],
        REGION_RATING_CLIENT=3,
    )


def captured(
    frame: pd.DataFrame,
    booster: xgb.Booster,
    *,
    version: str,
    threshold: float,
    scored_at: datetime | list[datetime],
    bands: RiskBands | None = None,
) -> pa.Table:
    """What the service captures when ``version`` scores these applications, one request each."""
    bands = bands or RiskBands(0.25, 0.45)
    matrix = feature_matrix(frame)
    probability = predict_proba(booster, matrix)
    n = len(frame)
    times = scored_at if isinstance(scored_at, list) else [scored_at] * n
    data: dict[str, object] = {
        "request_id": [uuid.uuid4().hex for _ in range(n)],
        "scored_at": times,
        "SK_ID_CURR": frame["SK_ID_CURR"].to_numpy(dtype=np.int64),
        **{name: matrix[:, i] for i, name in enumerate(FEATURES)},
        "probability": probability,
        "risk_level": [bands.level(float(p)) for p in probability],
        "is_fraud": probability >= threshold,
        "model_version": [version] * n,
        "threshold": [threshold] * n,
        "endpoint": ["/predict"] * n,
    }
    return pa.table({name: data[name] for name in SCORED_COLUMNS}).cast(scored_schema())
