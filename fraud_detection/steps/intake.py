"""A month's way in: fetch its bytes, validate them against the contract (pure), split it
once, or quarantine the delivery. Errors name the file, the column and the problem."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from fraud_detection.adapters.partition_files import LakeError, decode, decode_chunks
from fraud_detection.core.dataset import MonthSplit, split_month, stable_seed
from fraud_detection.core.features import (
    ID_COLUMN,
    TARGET_COLUMN,
    ContractError,
    Problem,
    validate_frame,
)
from fraud_detection.core.lineage import PartitionRef
from fraud_detection.core.recipe import validation_split
from fraud_detection.core.tags import BASE_MONTH, QuarantineRecord, utc_now
from fraud_detection.settings.training import TrainingSettings
from fraud_detection.steps.ports import DecisionWriter, LakeReader

BASE = BASE_MONTH


MIN_POSITIVES = 4  # fewer cannot be split into training and holdout parts meaningfully


@dataclass(frozen=True)
class MonthData:
    """A partition's bytes as fetched, and which file they are (path and sha256)."""

    ref: PartitionRef
    raw: bytes  # exactly the bytes that were hashed; decoded by ``validate``


class MonthError(ValueError):
    """A partition that cannot be used; the message names the file, the column and the problem."""


def fetch(lake: LakeReader, name: str) -> MonthData:
    raw, ref = lake.fetch(name)
    return MonthData(ref, raw)


def validate(data: MonthData, *, labelled: bool = True) -> pd.DataFrame:
    """The month's bytes against the contract (pure); errors name the file, column, problem."""
    try:
        frame = decode(data.ref, data.raw)
    except LakeError as exc:
        raise MonthError(str(exc)) from exc
    try:
        return _validate_frame(frame, data.ref.path, labelled)
    except ContractError as exc:
        raise MonthError(str(exc)) from exc


def _validate_frame(frame: pd.DataFrame, source: str, labelled: bool) -> pd.DataFrame:
    clean = validate_frame(frame, require_target=labelled, source=source)
    if labelled:
        _check_classes(len(clean), int(clean[TARGET_COLUMN].sum()), source)
    return clean


def _check_classes(rows: int, positives: int, source: str) -> None:
    if positives == 0 or positives == rows:
        raise ContractError([Problem(TARGET_COLUMN, "a single class in the whole month")], source)
    if min(positives, rows - positives) < MIN_POSITIVES:
        raise ContractError(
            [Problem(TARGET_COLUMN, f"fewer than {MIN_POSITIVES} rows of one class")], source
        )


@dataclass(frozen=True)
class ValidatedCounts:
    """A labelled partition that passed the contract: which file it is, its rows and frauds."""

    ref: PartitionRef
    rows: int
    positives: int


def validate_streamed(data: MonthData, chunk_rows: int) -> ValidatedCounts:
    """``validate`` in one pass of ``chunk_rows`` rows at a time (the whole partition is never
    decoded at once); the same rules, rows numbered from the file's start. What it keeps is
    only the counts the pooled fraud rate needs."""
    source = data.ref.path
    rows = positives = 0
    ids: list[np.ndarray] = []
    try:
        for chunk in decode_chunks(data.ref, data.raw, chunk_rows):
            try:
                clean = validate_frame(chunk, source=source)
            except ContractError as exc:
                raise ContractError(_from_row(exc.problems, rows), source) from exc
            # A copy: the column alone is a view that would keep the chunk's whole block alive.
            ids.append(clean[ID_COLUMN].to_numpy(copy=True))
            rows += len(clean)
            positives += int(clean[TARGET_COLUMN].sum())
        if not rows:
            raise ContractError([Problem("*", "no rows")], source)
        if len(ids) > 1:  # each chunk was checked alone: an id may repeat across chunks
            repeated = pd.Series(np.concatenate(ids)).duplicated(keep="first").to_numpy()
            if repeated.any():
                rows_at = tuple(int(i) for i in np.flatnonzero(repeated)[:6])
                raise ContractError(
                    [Problem(ID_COLUMN, "duplicated application id", rows_at)], source
                )
        _check_classes(rows, positives, source)
    except LakeError as exc:
        raise MonthError(str(exc)) from exc
    except ContractError as exc:
        raise MonthError(str(exc)) from exc
    return ValidatedCounts(data.ref, rows, positives)


def _from_row(problems: list[Problem], offset: int) -> list[Problem]:
    return [replace(p, rows=tuple(r + offset for r in p.rows)) for p in problems]


def split(settings: TrainingSettings, month: str, clean: pd.DataFrame) -> MonthSplit:
    """The month's training part and holdout, once (same month and seed → same rows)."""
    return split_month(
        clean, holdout_fraction=settings.holdout_fraction, seed=settings.seed, month=month
    )


def check_judgeable(settings: TrainingSettings, data: MonthData, clean: pd.DataFrame) -> None:
    """Refuse a month too small to be judged or to choose a threshold on (it is quarantined).

    The holdout and the validation slice are the ones the run will use (same split, same
    seed); each must hold ``min_slice_positives`` rows of each class. Otherwise the gate has
    nothing to tell the models apart with, and a threshold chosen on one or no fraud flags
    nearly every application.
    """
    month = data.ref.name
    month_split = split(settings, month, clean)
    _, validation = validation_split(
        month_split.train, settings.validation_fraction, stable_seed(settings.seed, month)
    )
    needed = settings.min_slice_positives
    problems = [
        Problem(
            TARGET_COLUMN,
            f"the {name} holds {count} rows of its rarer class (at least {needed} are needed to "
            f"{purpose}); the month is too small for FRAUD_HOLDOUT_FRACTION="
            f"{settings.holdout_fraction:g}",
        )
        for name, count, purpose in (
            ("holdout", _rarer_class(month_split.holdout), "judge the challenger"),
            ("validation slice", _rarer_class(validation), "choose a threshold"),
        )
        if count < needed
    ]
    if problems:
        raise MonthError(str(ContractError(problems, data.ref.path)))


def _rarer_class(frame: pd.DataFrame) -> int:
    positives = int(frame[TARGET_COLUMN].sum())
    return min(positives, len(frame) - positives)


def quarantine(
    registry: DecisionWriter, data: MonthData, reason: str, *, run_id: str = ""
) -> QuarantineRecord:
    """Mark the month's delivery in force as unusable (its bytes stay as they are)."""
    ref = data.ref
    record = QuarantineRecord(ref.name, ref.path, ref.sha256, reason, utc_now(), run_id)
    registry.quarantine(record)
    return record
