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

from fraud_detection.features import ID_COLUMN, TARGET_COLUMN


@dataclass(frozen=True)
class MonthSplit:
    train: pd.DataFrame
    holdout: pd.DataFrame  # never trained on when the month is judged; natural fraud rate


def stable_seed(seed: int, label: str) -> int:
    """A per-month seed that does not depend on Python's hash randomisation."""
    return (seed * 1_000_003 + zlib.crc32(label.encode())) % (2**32)


def split_month(
    frame: pd.DataFrame, *, holdout_fraction: float, seed: int, month: str
) -> MonthSplit:
    """Stratified split of a labelled month; the holdout keeps the natural fraud rate."""
    ordered = frame.sort_values(ID_COLUMN, kind="stable").reset_index(drop=True)
    stratify = ordered[TARGET_COLUMN] if ordered[TARGET_COLUMN].nunique() > 1 else None
    train, holdout = train_test_split(
        ordered,
        test_size=holdout_fraction,
        random_state=stable_seed(seed, month) % (2**31),
        stratify=stratify,
    )
    return MonthSplit(train.reset_index(drop=True), holdout.reset_index(drop=True))


def month_age(month: str, other: str) -> float:
    """How many months ``other`` lies before ``month`` (both YYYY-MM)."""
    return float((pd.Period(month, freq="M") - pd.Period(other, freq="M")).n)


def undersample(frame: pd.DataFrame, *, positive_rate: float, seed: int) -> pd.DataFrame:
    """Drop negatives at random until positives make ``positive_rate`` of the rows."""
    positives = frame[frame[TARGET_COLUMN] == 1]
    negatives = frame[frame[TARGET_COLUMN] == 0]
    wanted = round(len(positives) * (1 - positive_rate) / positive_rate)
    if wanted >= len(negatives) or len(positives) == 0:
        return frame.reset_index(drop=True)
    kept = negatives.sample(n=wanted, random_state=seed % (2**31))
    return pd.concat([positives, kept]).sort_values(ID_COLUMN, kind="stable").reset_index(drop=True)


def training_pool(
    base: pd.DataFrame,
    earlier_months: list[pd.DataFrame],
    month_train: pd.DataFrame | None,
) -> pd.DataFrame:
    """Base history + earlier months + the new month's training part, at the natural rate.

    Balancing happens after the validation split (see ``training``), so the threshold is chosen
    on data with the rate the model meets in production.
    """
    parts = [base, *earlier_months] + ([month_train] if month_train is not None else [])
    pool = pd.concat(parts, ignore_index=True)
    # The same application id never counts twice (e.g. re-delivered in a later month).
    pool = pool.drop_duplicates(subset=ID_COLUMN, keep="last")
    return pool.sort_values(ID_COLUMN, kind="stable").reset_index(drop=True)


def positive_rate(frame: pd.DataFrame) -> float:
    return float(np.mean(frame[TARGET_COLUMN])) if len(frame) else 0.0
