"""Captured records written to a lake's scored/ partitions, as the service would write them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.core.features import FEATURES, feature_matrix
from fraud_detection.core.scored import scored_schema


def captured_table(frame: pd.DataFrame, start: datetime, days: int) -> pa.Table:
    """``frame``'s applications as captured records spread over ``days`` days from ``start``."""
    matrix = feature_matrix(frame)
    rows = len(frame)
    offsets = np.arange(rows) * (days * 86_400 / rows)
    columns: dict[str, object] = {
        "request_id": [f"r{i}" for i in range(rows)],
        "scored_at": [start.astimezone(UTC) + timedelta(seconds=float(s)) for s in offsets],
        "SK_ID_CURR": frame["SK_ID_CURR"].to_numpy(dtype=np.int64),
        **{name: matrix[:, i] for i, name in enumerate(FEATURES)},
        "probability": np.full(rows, 0.1),
        "risk_level": ["low_risk"] * rows,
        "is_fraud": np.zeros(rows, dtype=bool),
        "model_version": ["1"] * rows,
        "threshold": np.full(rows, 0.5),
        "endpoint": ["/predict"] * rows,
    }
    return pa.table(columns).cast(scored_schema())


def capture(store: ScoredStore, frame: pd.DataFrame, start: datetime, days: int) -> None:
    store.write(captured_table(frame, start, days), "test")
