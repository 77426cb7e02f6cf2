"""The training recipe of core/training.py fitted with ``xgboost.dask`` on an existing Dask cluster.

Chosen by the flow when ``FRAUD_DASK_ADDRESS`` is set. The workers read the lake's partitions
themselves (Parquet or CSV, from S3 through s3fs with the lake's storage options), check that
their bytes are the ones the lineage names, validate them against the contract and keep them in
their own memory: nothing of the older pool passes through the flow's process. Only the
month's own training part is sent to the cluster (the flow holds it already: it split the month
and keeps the validation slice and the holdout); the cluster sends back row counts and the
booster.

Both stages are the recipe's (core/recipe.py), as on a single machine: the same weights and
parameters; only XGBoost's quantile sketch, merged across workers, and the row sampling differ a
little from one process's.

Dask is imported by the functions that need it, never by importing this module: without the
setting, a run imports nothing of Dask.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fraud_detection.adapters.dask_workers import (
    WEIGHT_COLUMN,
    ClusterPart,
    ClusterPool,
    StorageOptions,
    count_rows,
    load_part,
    model_columns,
    partition_sha256,
    with_weights,
)
from fraud_detection.core import recipe
from fraud_detection.core.evaluation import predict_proba
from fraud_detection.core.features import FEATURES, TARGET_COLUMN, feature_matrix
from fraud_detection.core.model_inputs import model_features
from fraud_detection.core.params import TrainingPlan, XGBoostParams
from fraud_detection.core.training import JudgedRecipe, TrainedModel

if TYPE_CHECKING:
    import xgboost as xgb
    from distributed import Client, Future


# -- the recipe on the cluster ---------------------------------------------------------------------
@dataclass(frozen=True)
class _Pool:
    """The pool's parts as the cluster holds them (futures of worker-side frames) and counts."""

    names: list[str]
    ages: list[float]
    frames: list[Future]
    counts: list[tuple[int, int]]

    @property
    def rows(self) -> int:
        return sum(rows for rows, _ in self.counts)

    @property
    def positives(self) -> int:
        return sum(positives for _, positives in self.counts)


class DaskTraining:
    """The two-stage recipe (train and refit) with ``xgboost.dask`` through one client."""

    def __init__(self, client: Client, storage_options: dict[str, Any]) -> None:
        self._client = client
        self._storage = StorageOptions(storage_options)

    @classmethod
    @contextmanager
    def connect(cls, address: str, storage_options: dict[str, Any]) -> Iterator[DaskTraining]:
        """A client of the scheduler at ``address`` for the duration of the block."""
        from distributed import Client

        client = Client(address, set_as_default=False)
        try:
            # xgboost.dask looks the client up as the current one: this one, in this block only.
            with client.as_current():
                yield cls(client, storage_options)
        finally:
            client.close()

    def _key(self, what: str, name: str) -> str:
        return f"{what}-{name}-{uuid.uuid4().hex}"  # names a task; never a hash of its inputs

    def partition_hashes(self, paths: Sequence[str]) -> list[str]:
        """The sha256 of each partition's bytes, computed where the bytes are read: the workers."""
        futures = [
            self._client.submit(
                partition_sha256, path, self._storage, key=self._key("sha256", str(i))
            )
            for i, path in enumerate(paths)
        ]
        hashes: list[str] = self._client.gather(futures)
        return hashes

    def _pool(self, history: Sequence[ClusterPart], month: str, frame: pd.DataFrame) -> _Pool:
        """Every part on the workers: the history read there, the month's own part sent."""
        frames = [
            self._client.submit(load_part, part, self._storage, key=self._key("part", part.name))
            for part in history
        ]
        [sent] = self._client.scatter([model_columns(frame)], hash=False)
        frames.append(sent)
        counts = self._client.gather(
            [self._client.submit(count_rows, f, key=self._key("rows", "part")) for f in frames]
        )
        return _Pool(
            [p.name for p in history] + [month],
            [p.age for p in history] + [0.0],
            frames,
            [(int(r), int(p)) for r, p in counts],
        )

    def _matrix(
        self,
        pool: _Pool,
        weights: dict[str, float],
        positive_weight: float,
        features: tuple[str, ...],
    ) -> xgb.dask.DaskQuantileDMatrix:
        """A stage's rows on ``features`` (the contract's, less the inputs left out on purpose)."""
        import dask.dataframe as dd
        from xgboost import dask as dxgb

        weighted = [
            self._client.submit(
                with_weights, frame, weights[name], positive_weight, key=self._key("weighted", name)
            )
            for name, frame, (rows, _) in zip(pool.names, pool.frames, pool.counts, strict=True)
            if weights.get(name, 0.0) > 0 and rows
        ]
        if not weighted:
            raise ValueError("no training rows with a positive weight")
        meta = pd.DataFrame(
            {c: pd.Series(dtype=np.float32) for c in [*FEATURES, TARGET_COLUMN, WEIGHT_COLUMN]}
        )
        rows = dd.from_delayed(weighted, meta=meta, verify_meta=False)
        return dxgb.DaskQuantileDMatrix(
            self._client,
            rows[list(features)],
            rows[TARGET_COLUMN],
            weight=rows[WEIGHT_COLUMN],
            feature_names=list(features),
        )

    def _fit(
        self,
        pool: _Pool,
        params: XGBoostParams,
        plan: TrainingPlan,
        *,
        seed: int,
        history_booster: xgb.Booster | None = None,
    ) -> tuple[xgb.Booster, float, dict[str, float]]:
        """The recipe's stages, each boosted with ``xgboost.dask`` on the workers' rows."""
        from xgboost import dask as dxgb

        # From the pool's counts, as one machine's pool does; the cluster counted them.
        positive_weight = recipe.positive_weight_at(
            pool.positives, pool.rows, plan.train_positive_rate
        )
        features = model_features(plan.excluded_inputs)

        def fit_stage(stage: recipe.Stage, on_top_of: xgb.Booster | None) -> xgb.Booster:
            matrix = self._matrix(pool, stage.weights, positive_weight, features)
            trained = dxgb.train(
                self._client,
                stage.params,
                matrix,
                num_boost_round=stage.rounds,
                xgb_model=on_top_of,
            )
            booster: xgb.Booster = trained["booster"]
            return booster

        ages = dict(zip(pool.names, pool.ages, strict=True))
        booster, weights = recipe.fit_stages(
            ages, params, plan, fit_stage, seed=seed, history_booster=history_booster
        )
        return booster, positive_weight, weights

    def train(
        self,
        given: ClusterPool,
        params: XGBoostParams,
        plan: TrainingPlan,
        *,
        seed: int,
    ) -> TrainedModel:
        """As train_parts: the validation slice of the month's part held out here, both stages
        fitted on the cluster, the threshold and prior chosen on the slice."""
        month = given.month
        fit_part, validation = recipe.validation_split(
            given.month_rows, plan.validation_fraction, seed
        )
        recipe.require_both_classes(validation, month)
        # The workers hold the pool's frames while ``pool`` (its futures) lives: this call.
        pool = self._pool(given.history, month, fit_part)
        recipe.require_two_classes(pool.positives, pool.rows)
        booster, positive_weight, weights = self._fit(pool, params, plan, seed=seed)
        probability = predict_proba(booster, feature_matrix(validation))
        cutoff = recipe.Cutoff.on(validation[TARGET_COLUMN].to_numpy(), probability)
        rows = recipe.row_counts(pool.rows + len(validation), pool.rows, pool.positives, cutoff)
        return TrainedModel(
            booster,
            cutoff.threshold,
            cutoff.f1,
            positive_weight,
            cutoff.trained_rate,
            rows,
            weights,
        )

    def refit(
        self,
        given: ClusterPool,
        params: XGBoostParams,
        plan: TrainingPlan,
        *,
        seed: int,
        judged: JudgedRecipe,
    ) -> TrainedModel:
        """As refit_parts: the judged history stage kept, the correction refitted on the newest
        months in full (or both stages refitted when no judged booster is given)."""
        pool = self._pool(given.history, given.month, given.month_rows)
        booster, positive_weight, weights = self._fit(
            pool, params, plan, seed=seed, history_booster=judged.history_stage(params, plan)
        )
        rows = recipe.row_counts(pool.rows, pool.rows, pool.positives, None)
        return judged.refitted(booster, positive_weight, rows, weights)
