"""Small real models and registered versions, for tests that need one in a registry."""

from __future__ import annotations

from fraud_detection.adapters.registry import Registry
from fraud_detection.config import Settings
from fraud_detection.core.features import validate_frame
from fraud_detection.core.lineage import RunRecord
from fraud_detection.core.tags import VersionTags
from fraud_detection.core.training import TrainedModel, train
from fraud_detection.sources.synthetic import generate


def train_small(seed: int, month_index: int, excluded_inputs: tuple[str, ...] = ()) -> TrainedModel:
    """An XGBoost model on 3,000 synthetic rows of one month (about a second), trained without
    ``excluded_inputs``."""
    frame, _ = generate(3_000, month_index=month_index, seed=seed)
    return train(
        validate_frame(frame),
        Settings().xgb,
        train_positive_rate=0.25,
        validation_fraction=0.2,
        seed=seed,
        excluded_inputs=excluded_inputs,
    )


def register_small(registry: Registry, trained: TrainedModel, month: str, **tags: str) -> str:
    """Log the model in a run and register it: version number, tagged month + threshold."""
    run_id, uri = registry.log_model_run(
        trained.booster, RunRecord(f"test-{month}", tags={"month": month})
    )
    return registry.register_version(
        uri,
        run_id,
        VersionTags.from_tags({"month": month, "threshold": repr(trained.threshold), **tags}),
    )
