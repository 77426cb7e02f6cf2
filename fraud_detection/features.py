"""The feature contract (seed-contract.md §1) applied: 54 columns in a fixed order, used by training
and serving alike so the two can never disagree.

Every rule comes from the one table in :mod:`fraud_detection.contract`: month validation
(:func:`validate_frame`), the column-wise fast path for requests (:func:`_fast_matrix`) and the
per-field error path (:func:`matrix_from_records`) check the same bounds and one-hot groups.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fraud_detection.contract import (
    BY_SPELLING,
    DERIVED_COLUMN,
    GROUPS,
    ID_COLUMN,
    INPUTS,
    MAX_ID,
    TARGET_COLUMN,
    Column,
    underscore_name,
)

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
    "RiskBands",
    "feature_frame",
    "feature_matrix",
    "matrix_from_records",
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


# ---------------------------------------------------------------------------------------------
# The rules of the table as arrays over the 53 inputs in contract order: one implementation of
# "in the domain" for whole columns (months, the fast path) and single values (the error path).

_INPUT_INDEX = {c.name: i for i, c in enumerate(INPUTS)}
_LOW = np.array([c.minimum for c in INPUTS], dtype=np.float64)
_HIGH = np.array([c.maximum for c in INPUTS], dtype=np.float64)
_INTEGER = np.array([c.integer for c in INPUTS])
_INTEGER_INDEX = np.flatnonzero(_INTEGER)
_GROUP_INDEX = {g: np.array([_INPUT_INDEX[c.name] for c in cs]) for g, cs in GROUPS.items()}
_GROUPED_INDEX = np.concatenate(list(_GROUP_INDEX.values()))
# (grouped columns) x (groups): one matrix product sums every group of every row at once.
_GROUP_SUM = np.zeros((len(_GROUPED_INDEX), len(GROUPS)))
for _g, _group in enumerate(GROUPS):
    for _column in GROUPS[_group]:
        _GROUP_SUM[list(_GROUPED_INDEX).index(_INPUT_INDEX[_column.name]), _g] = 1.0


def _outside(values: np.ndarray, column: Column) -> np.ndarray:
    """Rows of one column's float64 values outside its domain (NaN and ±∞ included)."""
    bad = ~((values >= column.minimum) & (values <= column.maximum))
    if column.integer:
        bad |= values != np.floor(values)
    return bad


def _in_domain(value: float, column: Column) -> bool:
    return column.minimum <= value <= column.maximum and (
        not column.integer or value == math.floor(value)
    )


@dataclass(frozen=True)
class _Rules:
    """The table's rules over the matrix the fast path fills: [the id,] the 53 inputs."""

    low: np.ndarray
    high: np.ndarray
    integer: np.ndarray
    grouped: np.ndarray

    @classmethod
    def with_id(cls, offset: int) -> _Rules:
        return cls(
            np.concatenate([[0.0] * offset, _LOW]),
            np.concatenate([[float(MAX_ID)] * offset, _HIGH]),
            np.concatenate([np.arange(offset), _INTEGER_INDEX + offset]).astype(int),
            _GROUPED_INDEX + offset,
        )

    def valid(self, values: np.ndarray) -> bool:
        """Every rule on a float64 matrix at once; NaN and ±∞ fail the bounds."""
        integer = values[:, self.integer]
        return bool(
            ((values >= self.low) & (values <= self.high)).all()
            and (integer == np.floor(integer)).all()
            and (values[:, self.grouped] @ _GROUP_SUM <= 1).all()
        )


_RULES = (_Rules.with_id(0), _Rules.with_id(1))  # by the number of leading id columns


def _id_outside(values: np.ndarray) -> np.ndarray:
    outside: np.ndarray = ~((values >= 0) & (values <= MAX_ID)) | (values != np.floor(values))
    return outside


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
    problems: list[Problem] = []
    if frame.empty:
        raise ContractError([Problem("*", "no rows")], source)
    required = [ID_COLUMN, *INPUT_FEATURES] + ([TARGET_COLUMN] if require_target else [])
    for column in required:
        if column not in frame.columns:
            problems.append(Problem(column, "missing column"))
    allowed = {*required, TARGET_COLUMN, DERIVED_COLUMN}
    for column in frame.columns:
        if column not in allowed:
            problems.append(Problem(str(column), "unknown column"))
    duplicated_names = frame.columns[frame.columns.duplicated()]
    for column in dict.fromkeys(duplicated_names):
        problems.append(Problem(str(column), "given twice (in both spellings)"))
    if problems:
        raise ContractError(problems, source)

    numeric: dict[str, np.ndarray] = {}
    for column in required:
        series = frame[column]
        if series.dtype == bool or not (
            pd.api.types.is_numeric_dtype(series) or series.isna().all()
        ):
            problems.append(Problem(column, f"expected numbers, got dtype {series.dtype}"))
            continue
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        bad = ~np.isfinite(values)
        if bad.any():
            problems.append(Problem(column, "missing, NaN or infinite value", _rows(bad)))
            continue
        numeric[column] = values
    in_domain: set[str] = set()
    for spec in INPUTS:
        if spec.name in numeric:
            outside = _outside(numeric[spec.name], spec)
            if outside.any():
                problems.append(Problem(spec.name, spec.rule, _rows(outside)))
            else:
                in_domain.add(spec.name)
    for group, columns in GROUPS.items():
        if all(c.name in in_domain for c in columns):
            several = np.sum([numeric[c.name] for c in columns], axis=0) > 1
            if several.any():
                problems.append(Problem(group, ONE_HOT_RULE, _rows(several)))
    if ID_COLUMN in numeric:
        outside = _id_outside(numeric[ID_COLUMN])
        if outside.any():
            problems.append(Problem(ID_COLUMN, ID_RULE, _rows(outside)))
        duplicated = frame[ID_COLUMN].duplicated(keep="first")
        if duplicated.any():
            problems.append(Problem(ID_COLUMN, "duplicated application id", _rows(duplicated)))
    if require_target and TARGET_COLUMN in numeric:
        outside = ~np.isin(numeric[TARGET_COLUMN], (0, 1))
        if outside.any():
            problems.append(Problem(TARGET_COLUMN, "must be 0 or 1", _rows(outside)))
    if problems:
        raise ContractError(problems, source)

    out = frame[
        [c for c in (ID_COLUMN, *INPUT_FEATURES, TARGET_COLUMN) if c in frame.columns]
    ].copy()
    for column in INTEGER_COLUMNS:
        out[column] = out[column].astype("int64")
    out[ID_COLUMN] = out[ID_COLUMN].astype("int64")
    if TARGET_COLUMN in out.columns:
        out[TARGET_COLUMN] = out[TARGET_COLUMN].astype("int64")
    return add_derived(out)


def feature_matrix(frame: pd.DataFrame) -> np.ndarray:
    """The model input: the 54 columns in contract order as float32 (adds the derived one)."""
    if DERIVED_COLUMN not in frame.columns:
        frame = add_derived(frame)
    matrix: np.ndarray = frame.loc[:, list(FEATURES)].to_numpy(dtype=np.float32)
    return matrix


def feature_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The 54 contract columns in order (for fitting, where XGBoost records the names)."""
    if DERIVED_COLUMN not in frame.columns:
        frame = add_derived(frame)
    return frame.loc[:, list(FEATURES)].astype("float32")


# ---------------------------------------------------------------------------------------------
# Records as they arrive over HTTP: a list of JSON objects.

_IGNORED_FIELDS = frozenset({TARGET_COLUMN, DERIVED_COLUMN})  # accepted with any value, unused
_NUMBER_TYPES = frozenset({int, float})  # exact types: bool is not a number here


@functools.lru_cache(maxsize=64)
def _getter_for(keys: frozenset[str]) -> tuple[operator.itemgetter[Any], int] | None:
    """How to read [the id and] the 53 inputs, in contract order, from records spelled with
    ``keys``, and how many leading values are the id (0 or 1).

    None when a field is missing, unknown or given twice (the error path then says which).
    """
    spelling: dict[str, str] = {}
    for key in keys:
        column = BY_SPELLING.get(key)
        if column is None:
            if key not in _IGNORED_FIELDS and key != ID_COLUMN:
                return None
        elif column.name in spelling:
            return None
        else:
            spelling[column.name] = key
    if len(spelling) != len(INPUTS):
        return None
    leading = (ID_COLUMN,) if ID_COLUMN in keys else ()
    return operator.itemgetter(*leading, *(spelling[c] for c in INPUT_FEATURES)), len(leading)


def _fast_matrix(records: Sequence[Mapping[str, Any]]) -> np.ndarray | None:
    """The common case — every record valid and spelled alike — at C speed; None otherwise."""
    if not records or not isinstance(records[0], dict):
        return None
    keys = records[0].keys()
    found = _getter_for(frozenset(keys))
    if found is None:
        return None
    getter, offset = found
    rows = []
    for record in records:
        if not isinstance(record, dict) or record.keys() != keys:
            return None
        values = getter(record)
        if not _NUMBER_TYPES.issuperset(map(type, values)):
            return None
        rows.append(values)
    # [id,] 53 inputs, derived: the id column (if any) is checked and then left out.
    matrix = np.empty((len(rows), offset + len(FEATURES)), dtype=np.float64)
    try:
        matrix[:, :-1] = rows
    except OverflowError:  # an integer beyond float64: the error path names it
        return None
    if not _RULES[offset].valid(matrix[:, :-1]):
        return None
    return _with_derived(matrix[:, offset:])


def _with_derived(matrix: np.ndarray) -> np.ndarray:
    """Fill the derived last column of a validated (n, 54) matrix; the model takes float32."""
    matrix[:, -1] = credit_to_income(
        matrix[:, _INPUT_INDEX["AMT_CREDIT"]], matrix[:, _INPUT_INDEX["AMT_INCOME_TOTAL"]]
    )
    return matrix.astype(np.float32)


def _number(value: Any) -> float | str:
    """A JSON number as float, or why it is not one (as the end of an error message)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"expected a number, got {type(value).__name__}"
    try:
        number = float(value)
    except OverflowError:
        return "got a number too large for a float"
    if not math.isfinite(number):
        return "NaN or infinite value"
    return number


def _shown(value: float | int) -> str:
    return repr(value) if not isinstance(value, int) or abs(value) < 10**20 else f"{value:.3e}"


def matrix_from_records(records: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Turn request records into the (n, 54) float32 model input.

    Raises :class:`ContractError` naming the record index and field of each problem.
    """
    fast = _fast_matrix(records)
    return fast if fast is not None else _checked_matrix(records)


def _checked_matrix(records: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The error path: every field of every record checked on its own, each problem named."""
    n = len(records)
    matrix = np.zeros((n, len(FEATURES)), dtype=np.float64)
    problems: list[Problem] = []
    for row, record in enumerate(records):
        if not isinstance(record, Mapping):
            problems.append(Problem("*", f"record {row} is not an object"))
            continue
        given: dict[str, str] = {}  # column → the spelling it came in
        valid: set[str] = set()
        for key, value in record.items():
            column = BY_SPELLING.get(key)
            if column is None:
                if key == ID_COLUMN:
                    number = _number(value)
                    if isinstance(number, str):
                        problems.append(Problem(key, f"record {row}: {number}"))
                    elif _id_outside(np.array([number])).any():
                        problems.append(Problem(key, f"record {row}: {ID_RULE}, got {value}"))
                elif key not in _IGNORED_FIELDS:
                    problems.append(Problem(key, f"unknown field in record {row}"))
                continue
            if column.name in given:
                problems.append(
                    Problem(
                        column.name,
                        f"record {row}: given twice, as '{given[column.name]}' and '{key}'",
                    )
                )
                continue
            given[column.name] = key
            number = _number(value)
            if isinstance(number, str):
                problems.append(Problem(column.name, f"record {row}: {number}"))
            elif not _in_domain(number, column):
                problems.append(
                    Problem(column.name, f"record {row}: {column.rule}, got {_shown(value)}")
                )
            else:
                matrix[row, _INPUT_INDEX[column.name]] = number
                valid.add(column.name)
        if len(given) < len(INPUTS):
            missing = [c for c in INPUT_FEATURES if c not in given]
            for name in missing[:5]:
                problems.append(Problem(name, f"record {row}: missing field"))
            if len(missing) > 5:
                problems.append(Problem("*", f"record {row}: {len(missing) - 5} more missing"))
        for group, columns in GROUPS.items():
            if all(c.name in valid for c in columns) and matrix[row, _GROUP_INDEX[group]].sum() > 1:
                problems.append(Problem(group, f"record {row}: {ONE_HOT_RULE}"))
        if len(problems) > 50:
            break
    if problems:
        raise ContractError(problems, "request")
    return _with_derived(matrix)


@dataclass(frozen=True)
class RiskBands:
    """low below ``low``, high above ``high``, moderate in between (the original's 0.25 / 0.45)."""

    low: float = 0.25
    high: float = 0.45

    def level(self, probability: float) -> str:
        if probability < self.low:
            return "low_risk"
        if probability > self.high:
            return "high_risk"
        return "moderate_risk"
