"""Which of the contract's 54 features a model takes, and its input cut from the contract matrix.

Every request, captured record and holdout is built as the full contract matrix
(:func:`fraud_detection.core.features.feature_matrix`, :mod:`fraud_detection.core.records`): the
service keeps accepting and validating the whole contract, and groups are measured on it. A model
trained with inputs left out on purpose (``FRAUD_EXCLUDED_INPUTS``) names the features it was
trained on in its booster; :func:`model_matrix` cuts exactly those from the full matrix. Every
scorer (serving, judging, replay, capacity, the monitor, training's own threshold) goes through
it, so a model is always given the columns it was trained on, an old champion trained on all 54
included.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from fraud_detection.core.features import FEATURES

if TYPE_CHECKING:
    import xgboost as xgb

__all__ = [
    "INPUTS_LEFT_OUT_PARAM",
    "full_width",
    "inputs_in_words",
    "inputs_params",
    "left_out",
    "model_features",
    "model_matrix",
    "select_features",
    "used_features",
]


def model_features(excluded: Iterable[str] = ()) -> tuple[str, ...]:
    """The features a model is trained on: the contract's, in its order, less ``excluded``."""
    unknown = sorted(set(excluded) - set(FEATURES))
    if unknown:
        raise ValueError(f"not features of the contract: {', '.join(unknown)}")
    leaving = set(excluded)
    kept = tuple(name for name in FEATURES if name not in leaving)
    if not kept:
        raise ValueError("every feature of the contract is excluded: nothing is left to train on")
    return kept


def used_features(booster: xgb.Booster) -> tuple[str, ...]:
    """The features a booster was trained on, by its own names (unnamed: all 54, in order)."""
    names = booster.feature_names
    return FEATURES if names is None else tuple(names)


INPUTS_LEFT_OUT_PARAM = "inputs_left_out"  # the run's record of what its model was trained without


def inputs_params(booster: xgb.Booster) -> dict[str, str]:
    """What a model's run records of its inputs, read from the booster itself: how many it
    uses and which it leaves out (comma-separated; "none")."""
    used = used_features(booster)
    return {
        "inputs_used": str(len(used)),
        INPUTS_LEFT_OUT_PARAM: ",".join(left_out(used)) or "none",
    }


def inputs_in_words(used: Sequence[str]) -> str:
    """A model's inputs for a reader: all 54, or how many and which it leaves out."""
    left = left_out(used)
    if not left:
        return f"all {len(FEATURES)} features"
    names = ", ".join(f"`{name}`" for name in left)
    return f"{len(used)} of {len(FEATURES)} features, leaving out {names}"


def left_out(used: Sequence[str]) -> tuple[str, ...]:
    """The contract's features a model with these inputs does not use, in contract order."""
    taken = set(used)
    return tuple(name for name in FEATURES if name not in taken)


@lru_cache(maxsize=64)
def _positions(features: tuple[str, ...]) -> np.ndarray:
    unknown = [name for name in features if name not in FEATURES]
    if unknown:
        raise ValueError(f"the model takes features the contract has not: {', '.join(unknown)}")
    return np.array([FEATURES.index(name) for name in features], dtype=np.intp)


def select_features(matrix: np.ndarray, features: Sequence[str]) -> np.ndarray:
    """The columns ``features`` of a full contract matrix (n, 54), in that order.

    All 54 in contract order is the matrix itself (no copy: the usual model, on the request
    path); otherwise a contiguous copy of the chosen columns.
    """
    wanted = tuple(features)
    if wanted == FEATURES:
        return matrix
    return np.ascontiguousarray(matrix[:, _positions(wanted)])


def model_matrix(booster: xgb.Booster, matrix: np.ndarray) -> np.ndarray:
    """A booster's input from a full contract matrix: the columns it was trained on."""
    return select_features(matrix, used_features(booster))


def full_width(values: np.ndarray, features: Sequence[str]) -> np.ndarray:
    """Per-feature values of a model's columns (n, len(features)) spread back onto the
    contract's 54 columns; a feature the model does not take gets exactly 0."""
    wanted = tuple(features)
    if wanted == FEATURES:
        return values
    out = np.zeros((values.shape[0], len(FEATURES)), dtype=values.dtype)
    out[:, _positions(wanted)] = values
    return out
