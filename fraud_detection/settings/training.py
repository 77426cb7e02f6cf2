"""How a challenger is trained: XGBoost, the two stages that follow drift, the pool, the splits."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode

from fraud_detection.core.contract import BY_SPELLING, DERIVED_COLUMN, INPUTS
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
    excluded_inputs: Annotated[list[str], NoDecode] = Field(
        [],
        description="contract columns models are trained without, e.g. CODE_GENDER (comma-"
        "separated or a JSON list): the service still accepts and validates them, groups are "
        "still measured on them, and the report, the model card and /model list what is left out",
    )

    @field_validator("excluded_inputs", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        # The env var is read as it is written: CODE_GENDER,DAYS_BIRTH or ["CODE_GENDER"].
        if isinstance(value, str):
            text = value.strip()
            return (
                json.loads(text)
                if text.startswith("[")
                else [name.strip() for name in text.split(",") if name.strip()]
            )
        return value

    @field_validator("excluded_inputs")
    @classmethod
    def _in_contract(cls, names: list[str]) -> list[str]:
        known = {**{s: c.name for s, c in BY_SPELLING.items()}, DERIVED_COLUMN: DERIVED_COLUMN}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ValueError(
                f"not columns of the feature contract (docs/contract.md): {', '.join(unknown)}"
            )
        chosen = list(dict.fromkeys(known[name] for name in names))  # contract names, once each
        if len(chosen) == len(INPUTS) + 1:  # the inputs and the derived ratio: all 54
            raise ValueError(
                "every feature of the contract is excluded: nothing is left to train on"
            )
        return chosen
