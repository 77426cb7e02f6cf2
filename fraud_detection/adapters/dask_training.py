"""The training recipe of core/training.py fitted with ``xgboost.dask`` on an existing Dask cluster.

Chosen by the flow when ``FRAUD_DASK_ADDRESS`` is set. The workers read the lake's partitions
themselves (Parquet or CSV, from S3 through s3fs with the lake's storage options), check that
their bytes are the ones the lineage names, validate them against the contract and keep them in
their own memory: nothing of the older pool passes through the flow's process. Only the
month's own training part is sent to the cluster (the flow holds it already: it split the month
and keeps the validation slice and the holdout); the cluster sends back row counts and the
booster.

Both stages are those of a single machine, with the same weights (``recency_weight`` ×
``positive_weight_for``) and parameters (``_booster_params``); only XGBoost's quantile sketch,
merged across workers, and the row sampling differ a little from one process's.

Dask is imported by the functions that need it, never by importing this module: without the
setting, a run imports nothing of Dask.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fraud_detection.adapters.lake import LakeError, decode
from fraud_detection.core.features import FEATURES, TARGET_COLUMN, feature_matrix, validate_frame
from fraud_detection.core.lineage import PartitionRef
from fraud_detection.core.params import DriftPlan, XGBoostParams
from fraud_detection.core.redact import redact_uri
from fraud_detection.core.training import (
    JudgedRecipe,
    TrainedModel,
    _booster_params,
    best_f1_threshold,
    calibrated_prior,
    positive_weight_at,
    recency_weight,
    validation_split,
)

if TYPE_CHECKING:
    import xgboost as xgb
    from distributed import Client, Future

WEIGHT_COLUMN = "__weight__"


class StorageOptions:
    """The lake's fsspec options as tasks carry them to the workers: never shown.

    Tasks' arguments appear in the dashboard, in errors and in logs by their ``repr``, and Dask
    names a task by a hash of its arguments unless told otherwise: this object's repr hides the
    keys, and every task is given a key of its own (no hash of the options is ever computed).
    """

    def __init__(self, options: dict[str, Any]) -> None:
        self._options = dict(options)

    def __repr__(self) -> str:
        return "StorageOptions(<hidden>)"

    def __dask_tokenize__(self) -> str:
        return "storage-options"

    def open_fs(self, uri: str) -> tuple[Any, str]:
        import fsspec

        fs, path = fsspec.core.url_to_fs(uri, **self._options)
        return fs, path


@dataclass(frozen=True)
class ClusterPart:
    """A partition of the pool that the workers read themselves: the file of the delivery in
    force, its bytes' sha256 (the lineage's) and its age in months."""

    name: str
    path: str  # as the lake displays it (s3://… or a local path every worker can read)
    sha256: str
    age: float


@dataclass(frozen=True)
class ClusterPool:
    """What a fit on the cluster is given: the partitions the workers read, and the month's own
    rows, which the flow holds and sends (its training part, or the whole month for a refit)."""

    history: Sequence[ClusterPart]
    month: str
    month_rows: pd.DataFrame


# -- what the workers run ------------------------------------------------------------------------
def _partition_sha256(path: str, storage: StorageOptions) -> str:
    fs, located = storage.open_fs(path)
    return hashlib.sha256(fs.cat_file(located)).hexdigest()


def _load_part(part: ClusterPart, storage: StorageOptions) -> pd.DataFrame:
    """One partition on a worker: its bytes (checked against the lineage), validated, as the
    54 float32 features and the label."""
    fs, located = storage.open_fs(part.path)
    data = fs.cat_file(located)
    found = hashlib.sha256(data).hexdigest()
    if found != part.sha256:
        raise LakeError(
            f"{redact_uri(part.path)}: its bytes changed since the pool was gathered "
            f"(sha256 {found[:12]}…, lineage {part.sha256[:12]}…)"
        )
    clean = validate_frame(
        decode(PartitionRef(part.name, part.path, found), data), source=part.path
    )
    return _model_columns(clean)


def _model_columns(frame: pd.DataFrame) -> pd.DataFrame:
    features = pd.DataFrame(feature_matrix(frame), columns=list(FEATURES))
    features[TARGET_COLUMN] = frame[TARGET_COLUMN].to_numpy(dtype=np.float32)
    return features


def _counts(frame: pd.DataFrame) -> tuple[int, int]:
    return len(frame), int(frame[TARGET_COLUMN].sum())


def _weighted(frame: pd.DataFrame, weight: float, positive_weight: float) -> pd.DataFrame:
    """The rows with the weight each carries in a stage (as PartBatches gives it one process)."""
    y = frame[TARGET_COLUMN].to_numpy()
    out = frame.copy()
    out[WEIGHT_COLUMN] = (weight * np.where(y == 1, positive_weight, 1.0)).astype(np.float32)
    return out


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
                _partition_sha256, path, self._storage, key=self._key("sha256", str(i))
            )
            for i, path in enumerate(paths)
        ]
        hashes: list[str] = self._client.gather(futures)
        return hashes

    def _pool(self, history: Sequence[ClusterPart], month: str, frame: pd.DataFrame) -> _Pool:
        """Every part on the workers: the history read there, the month's own part sent."""
        frames = [
            self._client.submit(_load_part, part, self._storage, key=self._key("part", part.name))
            for part in history
        ]
        [sent] = self._client.scatter([_model_columns(frame)], hash=False)
        frames.append(sent)
        counts = self._client.gather(
            [self._client.submit(_counts, f, key=self._key("rows", "part")) for f in frames]
        )
        return _Pool(
            [p.name for p in history] + [month],
            [p.age for p in history] + [0.0],
            frames,
            [(int(r), int(p)) for r, p in counts],
        )

    def _matrix(
        self, pool: _Pool, weights: dict[str, float], positive_weight: float
    ) -> xgb.dask.DaskQuantileDMatrix:
        import dask.dataframe as dd
        from xgboost import dask as dxgb

        weighted = [
            self._client.submit(
                _weighted, frame, weights[name], positive_weight, key=self._key("weighted", name)
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
            rows[list(FEATURES)],
            rows[TARGET_COLUMN],
            weight=rows[WEIGHT_COLUMN],
            feature_names=list(FEATURES),
        )

    def _fit(
        self,
        pool: _Pool,
        params: XGBoostParams,
        plan: DriftPlan,
        *,
        seed: int,
        history_booster: xgb.Booster | None = None,
    ) -> tuple[xgb.Booster, float, dict[str, float]]:
        """Stage 1 (unless the judged history stage is given) and stage 2, as fit_booster."""
        from xgboost import dask as dxgb

        # From the pool's counts, as one machine's pool does; the cluster counted them.
        positive_weight = positive_weight_at(pool.positives, pool.rows, plan.train_positive_rate)
        ages = dict(zip(pool.names, pool.ages, strict=True))
        history = {n: recency_weight(a, plan.history_half_life) for n, a in ages.items()}
        booster = history_booster
        if booster is None:
            booster = dxgb.train(
                self._client,
                _booster_params(params, seed),
                self._matrix(pool, history, positive_weight),
                num_boost_round=params.n_estimators,
            )["booster"]
        recent = {
            n: recency_weight(a, plan.recent_half_life)
            for n, a in ages.items()
            if a < plan.recent_months
        }
        if plan.correction_rounds > 0 and recent:
            correction = {
                **_booster_params(params, seed + 1),
                "learning_rate": plan.correction_learning_rate,
                "max_depth": plan.correction_max_depth,
            }
            booster = dxgb.train(
                self._client,
                correction,
                self._matrix(pool, recent, positive_weight),
                num_boost_round=plan.correction_rounds,
                xgb_model=booster,
            )["booster"]
        booster.feature_names = list(FEATURES)
        return booster, positive_weight, history

    def train(
        self,
        given: ClusterPool,
        params: XGBoostParams,
        plan: DriftPlan,
        *,
        seed: int,
    ) -> TrainedModel:
        """As train_parts: the validation slice of the month's part held out here, both stages
        fitted on the cluster, the threshold and prior chosen on the slice."""
        month = given.month
        fit_part, validation = validation_split(given.month_rows, plan.validation_fraction, seed)
        if validation[TARGET_COLUMN].nunique() < 2:
            raise ValueError(
                f"the validation slice ({len(validation)} rows of {month}) holds a single "
                "class; a threshold cannot be chosen on it"
            )
        # The workers hold the pool's frames while ``pool`` (its futures) lives: this call.
        pool = self._pool(given.history, month, fit_part)
        if pool.positives in (0, pool.rows):
            raise ValueError("training data holds a single class; a classifier cannot be trained")
        booster, positive_weight, weights = self._fit(pool, params, plan, seed=seed)
        probability = booster.inplace_predict(feature_matrix(validation))
        y_validation = validation[TARGET_COLUMN].to_numpy()
        threshold, f1 = best_f1_threshold(y_validation, probability)
        rows = {
            "pool_rows": pool.rows + len(validation),
            "fit_rows": pool.rows,
            "fit_positives": pool.positives,
            "validation_rows": len(validation),
            "validation_positives": int(validation[TARGET_COLUMN].sum()),
        }
        rate = calibrated_prior(y_validation, probability)
        return TrainedModel(booster, threshold, f1, positive_weight, rate, rows, weights)

    def refit(
        self,
        given: ClusterPool,
        params: XGBoostParams,
        plan: DriftPlan,
        *,
        seed: int,
        judged: JudgedRecipe,
    ) -> TrainedModel:
        """As refit_parts: the judged history stage kept, the correction refitted on the newest
        months in full (or both stages refitted when no judged booster is given)."""
        pool = self._pool(given.history, given.month, given.month_rows)
        kept = None
        if judged.booster is not None and plan.correction_rounds > 0:
            kept = judged.booster[: params.n_estimators]
        booster, positive_weight, weights = self._fit(
            pool, params, plan, seed=seed, history_booster=kept
        )
        rows = {
            "pool_rows": pool.rows,
            "fit_rows": pool.rows,
            "fit_positives": pool.positives,
            "validation_rows": 0,
            "validation_positives": 0,
        }
        return TrainedModel(
            booster,
            judged.threshold,
            float("nan"),
            positive_weight,
            judged.trained_rate,
            rows,
            weights,
        )
