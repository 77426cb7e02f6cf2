"""XGBoost model files from elsewhere: read only in XGBoost's own JSON/UBJ format (never a
pickle), checked against the 54-column contract, and registered."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fraud_detection.adapters.registry import Registry, RegistryError
from fraud_detection.core.features import FEATURES

if TYPE_CHECKING:
    import xgboost as xgb


def check_booster(booster: xgb.Booster) -> None:
    """A model must take exactly the 54 contract columns, in order."""
    count = booster.num_features()
    if count != len(FEATURES):
        raise RegistryError(f"model expects {count} features; the contract has {len(FEATURES)}")
    names = booster.feature_names
    if names is not None and list(names) != list(FEATURES):
        wrong = next(i for i, (a, b) in enumerate(zip(names, FEATURES, strict=True)) if a != b)
        raise RegistryError(
            f"feature {wrong} is named {names[wrong]!r}; the contract expects {FEATURES[wrong]!r}"
        )


def load_model_file(path: Path) -> xgb.Booster:
    """Read an XGBoost JSON/UBJ model file; anything else (e.g. a pickle) is refused."""
    import xgboost as xgb

    if path.suffix.lower() not in (".json", ".ubj"):
        raise RegistryError(f"{path}: only XGBoost .json or .ubj model files are accepted")
    head = path.read_bytes()[:1]
    if head != b"{":
        raise RegistryError(f"{path}: not an XGBoost JSON/UBJ model (pickles are never loaded)")
    booster = xgb.Booster()
    try:
        booster.load_model(str(path))
    except xgb.core.XGBoostError as exc:
        raise RegistryError(f"{path}: unreadable XGBoost model ({exc})") from exc
    check_booster(booster)
    booster.feature_names = list(FEATURES)
    return booster


def register_model_file(
    registry: Registry, path: Path, *, threshold: float, alias: str | None, month: str = "external"
) -> str:
    """Register an existing XGBoost model file (e.g. trained elsewhere) → version number."""
    booster = load_model_file(path)
    run_id, model_uri = registry.log_model_run(
        booster,
        run_name=f"register-{path.name}",
        params={"source_file": path.name},
        metrics={},
        tags={"month": month, "source": "register-model"},
        lineage=[],
    )
    version = registry.register_version(
        model_uri,
        run_id,
        {"month": month, "threshold": str(threshold), "source_file": path.name, "data_sha256": ""},
    )
    if alias == registry.settings.champion_alias:
        registry.set_champion(version)
    elif alias:
        registry.client.set_registered_model_alias(registry.name, alias, version)
    return version
