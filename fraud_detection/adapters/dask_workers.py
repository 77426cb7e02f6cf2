"""What the Dask workers run for the training of adapters/dask_training.py: each reads its
partitions of the lake itself, checks their bytes against the lineage, validates them and keeps
the model's columns; and the small values the tasks carry (never a secret in a repr).

Functions here are pickled by reference and run on the workers: they import only what a worker
has (pandas, NumPy, fsspec, the contract)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fraud_detection.adapters.partition_files import LakeError, decode
from fraud_detection.core.features import FEATURES, TARGET_COLUMN, feature_matrix, validate_frame
from fraud_detection.core.lineage import PartitionRef
from fraud_detection.core.redact import redact_uri

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


def partition_sha256(path: str, storage: StorageOptions) -> str:
    fs, located = storage.open_fs(path)
    return hashlib.sha256(fs.cat_file(located)).hexdigest()


def load_part(part: ClusterPart, storage: StorageOptions) -> pd.DataFrame:
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
    return model_columns(clean)


def model_columns(frame: pd.DataFrame) -> pd.DataFrame:
    features = pd.DataFrame(feature_matrix(frame), columns=list(FEATURES))
    features[TARGET_COLUMN] = frame[TARGET_COLUMN].to_numpy(dtype=np.float32)
    return features


def count_rows(frame: pd.DataFrame) -> tuple[int, int]:
    return len(frame), int(frame[TARGET_COLUMN].sum())


def with_weights(frame: pd.DataFrame, weight: float, positive_weight: float) -> pd.DataFrame:
    """The rows with the weight each carries in a stage (as PartBatches gives it one process)."""
    y = frame[TARGET_COLUMN].to_numpy()
    out = frame.copy()
    out[WEIGHT_COLUMN] = (weight * np.where(y == 1, positive_weight, 1.0)).astype(np.float32)
    return out
