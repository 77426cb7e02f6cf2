"""Derived data sets: a month's train/holdout split and the training pool for a month.

Nothing here is stored: the pool for month M is recomputed from immutable partitions (base
history + every earlier month + M's training part), so a crash or a retry can neither lose
nor double data. The same inputs and seed always give the same rows.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from fraud_detection.core.features import ID_COLUMN, TARGET_COLUMN


@dataclass(frozen=True)
class MonthSplit:
    """A labelled month split once: the part trained on and the holdout judged on."""

    train: pd.DataFrame
    holdout: pd.DataFrame  # never trained on when the month is judged; natural fraud rate


def stable_seed(seed: int, label: str) -> int:
    """A per-month seed that does not depend on Python's hash randomisation (< 2**31, so that
    NumPy, scikit-learn and XGBoost all take it)."""
    return (seed * 1_000_003 + zlib.crc32(label.encode())) % (2**31)


def split_month(
    frame: pd.DataFrame, *, holdout_fraction: float, seed: int, month: str
) -> MonthSplit:
    """Stratified split of a labelled month; the holdout keeps the natural fraud rate."""
    ordered = frame.sort_values(ID_COLUMN, kind="stable").reset_index(drop=True)
    stratify = ordered[TARGET_COLUMN] if ordered[TARGET_COLUMN].nunique() > 1 else None
    train, holdout = train_test_split(
        ordered,
        test_size=holdout_fraction,
        random_state=stable_seed(seed, month),
        stratify=stratify,
    )
    return MonthSplit(train.reset_index(drop=True), holdout.reset_index(drop=True))


def month_age(month: str, other: str) -> float:
    """How many months ``other`` lies before ``month`` (both YYYY-MM)."""
    return float((pd.Period(month, freq="M") - pd.Period(other, freq="M")).n)


def positive_rate(frame: pd.DataFrame) -> float:
    return float(np.mean(frame[TARGET_COLUMN])) if len(frame) else 0.0
