"""XGBoost model files from elsewhere: read only in XGBoost's own JSON/UBJ format (never a
pickle) and checked against the 54-column contract (less any inputs left out on purpose)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fraud_detection.core.features import FEATURES

if TYPE_CHECKING:
    import xgboost as xgb


class ModelFileError(ValueError):
    """A model file that is not an XGBoost model on the contract's 54 columns."""


def check_booster(booster: xgb.Booster) -> None:
    """A model must take the contract's columns in its order: all 54 (named so, or unnamed),
    or, named, the 54 less some left out on purpose (``FRAUD_EXCLUDED_INPUTS``)."""
    count = booster.num_features()
    names = booster.feature_names
    if names is None:
        if count != len(FEATURES):
            raise ModelFileError(
                f"model expects {count} features; the contract has {len(FEATURES)} "
                "(a model without feature names must take all of them, in contract order)"
            )
        return
    unknown = [name for name in names if name not in FEATURES]
    if unknown:
        raise ModelFileError(f"model takes features the contract has not: {', '.join(unknown)}")
    expected = [name for name in FEATURES if name in set(names)]
    if list(names) != expected:
        wrong = next(i for i, (a, b) in enumerate(zip(names, expected, strict=False)) if a != b)
        raise ModelFileError(
            f"feature {wrong} is named {names[wrong]!r}; in contract order it is {expected[wrong]!r}"
        )


def named_in_contract(booster: xgb.Booster) -> xgb.Booster:
    """A checked booster with its features named: an unnamed one takes all 54, by position."""
    if booster.feature_names is None:
        booster.feature_names = list(FEATURES)
    return booster


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
    return named_in_contract(booster)
