"""The feature contract (docs/contract.md) applied: 54 columns in a fixed order, used by training
and serving alike so the two can never disagree.

Every rule comes from the one table in :mod:`fraud_detection.core.contract`, applied through
:mod:`fraud_detection.core.bounds`: month validation here (:func:`validate_frame`) and requests in
:mod:`fraud_detection.core.records` check the same bounds and one-hot groups.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fraud_detection.core.bounds import id_outside, outside
from fraud_detection.core.contract import (
    BY_SPELLING,
    DERIVED_COLUMN,
    GROUPS,
    ID_COLUMN,
    INPUTS,
    MAX_ID,
    TARGET_COLUMN,
    underscore_name,
)

if TYPE_CHECKING:  # the service uses this module on records and never imports pandas (the bento
    import pandas as pd  # has none); months' frames are pandas where they are read

__all__ = [
    "COLUMN_ALIASES",
    "DERIVED_COLUMN",
    "FEATURES",
    "ID_COLUMN",
    "INPUT_FEATURES",
    "ONE_HOT_GROUPS",
    "TARGET_COLUMN",
    "ContractError",
    "Problem",
    "feature_matrix",
    "underscore_name",
    "validate_frame",
]

INPUT_FEATURES: tuple[str, ...] = tuple(c.name for c in INPUTS)  # the 53 a record carries
FEATURES: tuple[str, ...] = (*INPUT_FEATURES, DERIVED_COLUMN)  # the model's 54, in order
# One-hot groups (first level dropped, so "all zero" is a valid baseline level).
ONE_HOT_GROUPS: dict[str, tuple[str, ...]] = {
    group: tuple(c.name for c in columns) for group, columns in GROUPS.items()
}
INTEGER_COLUMNS: tuple[str, ...] = tuple(c.name for c in INPUTS if c.integer)
# Every accepted spelling of an input column → its contract name.
COLUMN_ALIASES: dict[str, str] = {spelling: c.name for spelling, c in BY_SPELLING.items()}
ID_RULE = f"must be a whole number from 0 to {MAX_ID}"
ONE_HOT_RULE = "more than one level set in a one-hot group"


class ContractError(ValueError):
    """Data that breaks the feature contract; ``problems`` lists each one precisely."""

    def __init__(self, problems: Sequence[Problem], source: str = "") -> None:
        self.problems = list(problems)
        self.source = source
        head = f"{source}: " if source else ""
        shown = "; ".join(str(p) for p in self.problems[:10])
        more = f" (+{len(self.problems) - 10} more)" if len(self.problems) > 10 else ""
        super().__init__(f"{head}{shown}{more}")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with data: the column (or field), what is wrong, the first rows affected."""

    column: str
    message: str
    rows: tuple[int, ...] = ()

    def __str__(self) -> str:
        where = ""
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:5])
            where = f" (rows {shown}{', …' if len(self.rows) > 5 else ''})"
        return f"column '{self.column}': {self.message}{where}"


def credit_to_income(credit: Any, income: Any) -> Any:
    """The one derived feature. Income is ≥ 1 (validated before this is called)."""
    return credit / income


def add_derived(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with CREDIT_TO_INCOME computed from its amounts."""
    out = frame.copy()
    out[DERIVED_COLUMN] = credit_to_income(
        out["AMT_CREDIT"].astype("float64"), out["AMT_INCOME_TOTAL"].astype("float64")
    )
    return out


def normalise_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Accept underscore spellings of the contract's names (as the original did)."""
    renames = {
        c: COLUMN_ALIASES[c]
        for c in frame.columns
        if c in COLUMN_ALIASES and COLUMN_ALIASES[c] != c
    }
    return frame.rename(columns=renames) if renames else frame


def _rows(mask: pd.Series | np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.flatnonzero(np.asarray(mask))[:6])


def validate_frame(
    frame: pd.DataFrame, *, require_target: bool = True, source: str = ""
) -> pd.DataFrame:
    """Check a labelled (or unlabelled) frame against the contract.

    Returns the frame with contract names, numeric dtypes and CREDIT_TO_INCOME added; raises
    :class:`ContractError` listing every problem (column, reason, first offending rows).
    """
    frame = normalise_columns(frame)
    if frame.empty:
        raise ContractError([Problem("*", "no rows")], source)
    required = [ID_COLUMN, *INPUT_FEATURES] + ([TARGET_COLUMN] if require_target else [])
    problems = _column_problems(frame, required)
    if problems:
        raise ContractError(problems, source)
    numeric, problems = _numeric_columns(frame, required)
    problems += _domain_problems(numeric)
    problems += _id_problems(frame, numeric)
    if require_target:
        problems += _target_problems(numeric)
    if problems:
        raise ContractError(problems, source)
    return _typed(frame)


def _column_problems(frame: pd.DataFrame, required: list[str]) -> list[Problem]:
    """Missing, unknown and doubly spelled columns."""
    allowed = {*required, TARGET_COLUMN, DERIVED_COLUMN}
    duplicated_names = dict.fromkeys(frame.columns[frame.columns.duplicated()])
    return [
        *(Problem(column, "missing column") for column in required if column not in frame),
        *(Problem(str(column), "unknown column") for column in frame if column not in allowed),
        *(Problem(str(c), "given twice (in both spellings)") for c in duplicated_names),
    ]


def _numeric_columns(
    frame: pd.DataFrame, required: list[str]
) -> tuple[dict[str, np.ndarray], list[Problem]]:
    """The required columns as float64 arrays, and the columns that are not numbers or finite."""
    from pandas.api.types import is_numeric_dtype

    numeric: dict[str, np.ndarray] = {}
    problems: list[Problem] = []
    for column in required:
        series = frame[column]
        if series.dtype == bool or not (is_numeric_dtype(series) or series.isna().all()):
            problems.append(Problem(column, f"expected numbers, got dtype {series.dtype}"))
            continue
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        bad = ~np.isfinite(values)
        if bad.any():
            problems.append(Problem(column, "missing, NaN or infinite value", _rows(bad)))
            continue
        numeric[column] = values
    return numeric, problems


def _domain_problems(numeric: dict[str, np.ndarray]) -> list[Problem]:
    """Values outside a column's domain, and one-hot groups with more than one level set."""
    problems: list[Problem] = []
    in_domain: set[str] = set()
    for spec in INPUTS:
        if spec.name in numeric:
            bad = outside(numeric[spec.name], spec)
            if bad.any():
                problems.append(Problem(spec.name, spec.rule, _rows(bad)))
            else:
                in_domain.add(spec.name)
    for group, columns in GROUPS.items():
        if all(c.name in in_domain for c in columns):
            several = np.sum([numeric[c.name] for c in columns], axis=0) > 1
            if several.any():
                problems.append(Problem(group, ONE_HOT_RULE, _rows(several)))
    return problems


def _id_problems(frame: pd.DataFrame, numeric: dict[str, np.ndarray]) -> list[Problem]:
    if ID_COLUMN not in numeric:
        return []
    problems = []
    bad = id_outside(numeric[ID_COLUMN])
    if bad.any():
        problems.append(Problem(ID_COLUMN, ID_RULE, _rows(bad)))
    duplicated = frame[ID_COLUMN].duplicated(keep="first")
    if duplicated.any():
        problems.append(Problem(ID_COLUMN, "duplicated application id", _rows(duplicated)))
    return problems


def _target_problems(numeric: dict[str, np.ndarray]) -> list[Problem]:
    if TARGET_COLUMN not in numeric:
        return []
    bad = ~np.isin(numeric[TARGET_COLUMN], (0, 1))
    return [Problem(TARGET_COLUMN, "must be 0 or 1", _rows(bad))] if bad.any() else []


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """A validated frame in contract order with integer dtypes and the derived column."""
    out = frame[
        [c for c in (ID_COLUMN, *INPUT_FEATURES, TARGET_COLUMN) if c in frame.columns]
    ].copy()
    for column in (*INTEGER_COLUMNS, ID_COLUMN):
        out[column] = out[column].astype("int64")
    if TARGET_COLUMN in out.columns:
        out[TARGET_COLUMN] = out[TARGET_COLUMN].astype("int64")
    return add_derived(out)


def feature_matrix(frame: pd.DataFrame) -> np.ndarray:
    """The model input: the 54 columns in contract order as float32 (adds the derived one)."""
    if DERIVED_COLUMN not in frame.columns:
        frame = add_derived(frame)
    matrix: np.ndarray = frame.loc[:, list(FEATURES)].to_numpy(dtype=np.float32)
    return matrix


def request_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as the JSON records a client posts (missing values as null)."""
    records: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    return records
