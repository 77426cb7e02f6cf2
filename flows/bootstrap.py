"""The first champion: trained on the base history, or an existing XGBoost model file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.locks import prefect_lock
from flows.retrain_tasks import retried_io
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings, get_settings
from fraud_detection.steps import first_champion, intake
from fraud_detection.steps.external_model import bootstrap_from_file


@task(**retried_io)
def fetch_base(settings: Settings) -> intake.MonthData:
    return intake.fetch(Lake.from_settings(settings), intake.BASE)


@task(cache_policy=NO_CACHE)
def validate_base(data: intake.MonthData) -> Any:
    return intake.validate(data)


@task(**retried_io)
def train_champion(
    settings: Settings, data: intake.MonthData, clean: Any
) -> first_champion.FirstChampion:
    return first_champion.bootstrap_champion(
        open_registry(settings, lock=prefect_lock(settings)), settings, data, clean
    )


@task(**retried_io)
def register_file(
    settings: Settings, model_file: str, threshold: float
) -> first_champion.FirstChampion:
    registry = open_registry(settings, lock=prefect_lock(settings))
    lake = Lake.from_settings(settings)
    return bootstrap_from_file(registry, lake, settings, Path(model_file), threshold)


@flow(name="bootstrap", log_prints=True)
def bootstrap(model_file: str | None = None, threshold: float | None = None) -> dict[str, Any]:
    """Set the first ``champion``; does nothing when there already is one (safe to run twice)."""
    logger = get_run_logger()
    settings = get_settings()
    if model_file:
        chosen = settings.default_threshold if threshold is None else threshold
        result = register_file(settings, model_file, chosen)
        if result.created and not result.metrics:
            logger.warning(
                "No base history in the lake: the model file could not be measured, so the "
                "first month's data alarm has no reference."
            )
    else:
        data = fetch_base(settings)
        result = train_champion(settings, data, validate_base(data))
    verb = "created" if result.created else "already set"
    logger.info("Champion %s: version %s", verb, result.version)
    metrics = ", ".join(
        f"{k} {v:.3f}" for k, v in result.metrics.items() if k in ("f1", "pr_auc", "roc_auc")
    )
    create_markdown_artifact(
        key="bootstrap-report",
        markdown=f"# Bootstrap\n\nChampion {verb}: version {result.version}. {metrics}",
    )
    return {"version": result.version, "created": result.created}


if __name__ == "__main__":
    bootstrap()
