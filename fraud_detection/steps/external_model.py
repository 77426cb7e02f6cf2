"""A model trained elsewhere (an XGBoost JSON/UBJ file on the 54-column contract), registered;
as the first champion, measured on a holdout of the base history so that the first month's data
alarm has a reference."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from fraud_detection.adapters.model_files import load_model_file
from fraud_detection.core.dataset import split_month
from fraud_detection.core.evaluation import metrics_at, predict_proba
from fraud_detection.core.features import TARGET_COLUMN, feature_matrix
from fraud_detection.core.lineage import RunRecord
from fraud_detection.core.model_inputs import inputs_params
from fraud_detection.core.tags import EXTERNAL_MONTH, HOLDOUT_METRICS, Role, Verdict, VersionTags
from fraud_detection.steps.first_champion import BOOTSTRAP_HOLDOUT, FirstChampion
from fraud_detection.steps.intake import BASE, fetch, validate
from fraud_detection.steps.ports import AliasWriter, LakeReader, ModelWriter


class BaseMeasureSettings(Protocol):
    """What measuring a model on the base history's holdout reads."""

    @property
    def seed(self) -> int: ...
    @property
    def default_threshold(self) -> float: ...


class FileChampionSettings(BaseMeasureSettings, Protocol):
    """What making a model file the first champion reads: the alias too."""

    @property
    def champion_alias(self) -> str: ...


def register_model_file(
    registry: AliasWriter, path: Path, *, threshold: float, alias: str | None, champion_alias: str
) -> str:
    """Register an existing XGBoost model file → version number (and set ``alias`` on it)."""
    booster = load_model_file(path)
    tags = VersionTags(
        month=EXTERNAL_MONTH,
        role=Role.EXTERNAL,
        data_sha256="",
        threshold=threshold,
        source_file=path.name,
    )
    run = RunRecord(
        name=f"register-{path.name}",
        params={"source_file": path.name, **inputs_params(booster)},
        tags={**tags.to_tags(), "source": "register-model"},
    )
    run_id, model_uri = registry.log_model_run(booster, run)
    version = registry.register_version(model_uri, run_id, tags)
    if alias == champion_alias:
        registry.set_champion(version)
    elif alias:
        registry.set_alias(alias, version)
    return version


def bootstrap_from_file(
    registry: AliasWriter,
    lake: LakeReader,
    settings: FileChampionSettings,
    path: Path,
    threshold: float,
) -> FirstChampion:
    """The first champion from a model file, measured on the base history's holdout.

    Safe to run again: with a champion already there nothing is registered, and a model file
    made champion without its measurement (a retry after a failure, or ``register-model``) gets
    it now. Without base history in the lake there is nothing to measure on. Of two runs at
    once, one makes the champion; the other raises ``StaleChampionError`` (its version stays
    registered, without an alias)."""
    champion = registry.champion()
    created = champion is None
    if champion is None:
        version = register_model_file(
            registry, path, threshold=threshold, alias=None, champion_alias=settings.champion_alias
        )
        # Compare-and-set against "no champion": of two bootstraps that both saw none, the
        # second is refused (StaleChampionError) instead of replacing the first one's champion.
        registry.promote(version, expected_champion=None)
        champion = registry.version(version)
    measured = champion.tags.role is not Role.EXTERNAL or champion.tags.decided
    if measured or lake.latest(BASE) is None:
        return FirstChampion(champion.version, created=created)
    metrics = measure_on_base(registry, settings, champion.version, validate(fetch(lake, BASE)))
    return FirstChampion(champion.version, created=created, metrics=metrics)


def measure_on_base(
    registry: ModelWriter, settings: BaseMeasureSettings, version: str, base: pd.DataFrame
) -> dict[str, float]:
    """Score a version on the base history's holdout (the rows a bootstrapped champion is
    measured on) and tag it with the figures, as the first champion: the data alarm's reference
    until months have been decided."""
    holdout = split_month(
        base, holdout_fraction=BOOTSTRAP_HOLDOUT, seed=settings.seed, month=BASE
    ).holdout
    y = holdout[TARGET_COLUMN].to_numpy()
    threshold = registry.version(version).tags.threshold_or(settings.default_threshold)
    probability = predict_proba(registry.load_booster(version), feature_matrix(holdout))
    metrics = metrics_at(y, probability, threshold)
    figures = {name: metrics[name] for name in HOLDOUT_METRICS if name in metrics}
    registry.set_tags(
        version,
        VersionTags(
            holdout={**figures, "fraud_rate": float(np.mean(y))},
            decision_reason="first champion: a model file, measured on the base history's holdout",
            decision=Verdict.PROMOTED,
        ),
    )
    return metrics
