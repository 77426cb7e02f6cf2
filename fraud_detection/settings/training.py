"""How a challenger is trained: XGBoost, the two stages that follow drift, the pool, the splits."""

from __future__ import annotations

from pydantic import BaseModel, Field

from fraud_detection.core.params import XGBoostParams


class TrainingSettings(BaseModel):
    """How a challenger is trained: XGBoost, the two stages that follow drift, the pool, the splits."""

    seed: int = Field(1237, description="random seed of splits, training and resampling")
    xgb: XGBoostParams = Field(
        XGBoostParams(), description="XGBoost's parameters, e.g. FRAUD_XGB__MAX_DEPTH"
    )
    # Training that follows drift (see training.py); chosen by bench/decisions.py.
    history_half_life_months: float = Field(
        3.0, ge=0, description="a month's weight halves every this many months (0 = no decay)"
    )
    recent_months: int = Field(
        2, ge=1, description="newest months the correction stage learns from"
    )
    recent_half_life_months: float = Field(
        1.0, ge=0, description="half-life of the correction stage's months"
    )
    correction_rounds: int = Field(
        40, ge=0, description="trees of the correction stage (0 = no correction stage)"
    )
    correction_learning_rate: float = Field(
        0.05, gt=0, le=1, description="learning rate of the correction stage"
    )
    correction_max_depth: int = Field(4, ge=1, description="tree depth of the correction stage")
    history_floor: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="partitions whose history weight 0.5 ** (age / half-life) is below this "
        "leave the pool (0 = every month is trained on)",
    )
    external_memory_rows: int = Field(
        0,
        ge=0,
        description="from this many pool rows on, XGBoost keeps the quantised pool in a disk "
        "cache instead of memory (ExtMemQuantileDMatrix; 0 = never)",
    )
    refit_on_promotion: bool = Field(
        True, description="serve the promoted recipe refitted on the whole month, holdout included"
    )
    train_positive_rate: float = Field(
        0.25, gt=0, lt=1, description="frauds are weighted up to this share in training"
    )
    validation_fraction: float = Field(
        0.2, gt=0, lt=1, description="share of the month's training part the threshold is cut on"
    )
    holdout_fraction: float = Field(
        0.5, gt=0, lt=1, description="share of the month held out to judge both models on"
    )
    min_slice_positives: int = Field(
        5,
        ge=1,
        description="frauds (and non-frauds) a month's holdout and validation slice must each "
        "hold; a smaller month is quarantined: it can neither be judged nor given a threshold",
    )
    default_threshold: float = Field(
        0.25, gt=0, lt=1, description="threshold of a model registered without one"
    )
    dask_address: str = Field(
        "",
        description="scheduler of an existing Dask cluster (tcp://host:8786) the training task "
        "fits on, its workers reading the lake themselves; empty: this process fits",
    )
