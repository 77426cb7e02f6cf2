"""XGBoost model files from elsewhere: read only in XGBoost's own JSON/UBJ format (never a
pickle) and checked against the 54-column contract."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fraud_detection.core.features import FEATURES

if TYPE_CHECKING:
    import xgboost as xgb


class ModelFileError(ValueError):
    """A model file that is not an XGBoost model on the contract's 54 columns."""


def check_booster(booster: xgb.Booster) -> None:
    """A model must take exactly the 54 contract columns, in order."""
    count = booster.num_features()
    if count != len(FEATURES):
        raise ModelFileError(f"model expects {count} features; the contract has {len(FEATURES)}")
    names = booster.feature_names
    if names is not None and list(names) != list(FEATURES):
        wrong = next(i for i, (a, b) in enumerate(zip(names, FEATURES, strict=True)) if a != b)
        raise ModelFileError(
            f"feature {wrong} is named {names[wrong]!r}; the contract expects {FEATURES[wrong]!r}"
        )


def load_model_file(path: Path) -> xgb.Booster:
    """Read an XGBoost JSON/UBJ model file; anything else (e.g. a pickle) is refused."""
    import xgboost as xgb

    if path.suffix.lower() not in (".json", ".ubj"):
        raise ModelFileError(f"{path}: only XGBoost .json or .ubj model files are accepted")
    head = path.read_bytes()[:1]
    if head != b"{":
        raise ModelFileError(f"{path}: not an XGBoost JSON/UBJ model (pickles are never loaded)")
    booster = xgb.Booster()
    try:
        booster.load_model(str(path))
    except xgb.core.XGBoostError as exc:
        raise ModelFileError(f"{path}: unreadable XGBoost model ({exc})") from exc
    check_booster(booster)
    booster.feature_names = list(FEATURES)
    return booster
