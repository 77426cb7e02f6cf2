"""Records as they arrive over HTTP (a list of JSON objects) → the model's input matrix.

A column-wise fast path for records spelled alike; the per-field path only to name what is wrong.
Both check the same bounds and one-hot groups as month validation (:mod:`fraud_detection.core.bounds`).
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fraud_detection.core.bounds import GROUP_INDEX, INPUT_INDEX, RULES, id_outside, in_domain
from fraud_detection.core.contract import (
    BY_SPELLING,
    DERIVED_COLUMN,
    GROUPS,
    ID_COLUMN,
    INPUTS,
    TARGET_COLUMN,
    Column,
)
from fraud_detection.core.features import (
    FEATURES,
    ID_RULE,
    INPUT_FEATURES,
    ONE_HOT_RULE,
    ContractError,
    Problem,
    credit_to_income,
)

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
    fast = _fast_rows(records)
    return None if fast is None else _with_derived(fast[0][:, fast[1] :])


def _fast_rows(records: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, int] | None:
    """The fast path's validated float64 rows ([id,] 53 inputs, a slot for the derived ratio)
    and how many leading columns are the id (0 or 1); None when the error path must decide."""
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
    if not RULES[offset].valid(matrix[:, :-1]):
        return None
    return matrix, offset


def _with_derived(matrix: np.ndarray) -> np.ndarray:
    """Fill the derived last column of a validated (n, 54) matrix; the model takes float32."""
    matrix[:, -1] = credit_to_income(
        matrix[:, INPUT_INDEX["AMT_CREDIT"]], matrix[:, INPUT_INDEX["AMT_INCOME_TOTAL"]]
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


def matrix_and_ids(records: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """The model input (as :func:`matrix_from_records`) and each record's application id.

    The ids are float64, NaN where a record carries none; exact, since a valid id is below 2**53.
    On the fast path they are the column validation has already read, so they cost nothing.
    """
    fast = _fast_rows(records)
    if fast is not None:
        rows, offset = fast
        ids = rows[:, 0].copy() if offset else np.full(len(rows), np.nan)
        return _with_derived(rows[:, offset:]), ids
    matrix = _checked_matrix(records)  # raises unless every record is valid
    return matrix, np.array([_id_of(record) for record in records], dtype=np.float64)


def _id_of(record: Mapping[str, Any]) -> float:
    value = record.get(ID_COLUMN)
    return math.nan if value is None else float(value)


def _checked_matrix(records: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The error path: every field of every record checked on its own, each problem named."""
    matrix = np.zeros((len(records), len(FEATURES)), dtype=np.float64)
    problems: list[Problem] = []
    for row, record in enumerate(records):
        if not isinstance(record, Mapping):
            problems.append(Problem("*", f"record {row} is not an object"))
        else:
            problems += _RecordCheck(row, matrix[row]).run(record)
        if len(problems) > 50:
            break
    if problems:
        raise ContractError(problems, "request")
    return _with_derived(matrix)


class _RecordCheck:
    """One record's fields checked one by one, the valid values written into its matrix row."""

    def __init__(self, row: int, values: np.ndarray) -> None:
        self.row, self.values = row, values
        self.given: dict[str, str] = {}  # column → the spelling it came in
        self.valid: set[str] = set()
        self.problems: list[Problem] = []

    def problem(self, field: str, message: str) -> None:
        self.problems.append(Problem(field, f"record {self.row}: {message}"))

    def run(self, record: Mapping[str, Any]) -> list[Problem]:
        for key, value in record.items():
            column = BY_SPELLING.get(key)
            if column is not None:
                self.field(key, column, value)
            elif key == ID_COLUMN:
                self.id(value)
            elif key not in _IGNORED_FIELDS:
                self.problems.append(Problem(key, f"unknown field in record {self.row}"))
        self.missing()
        self.groups()
        return self.problems

    def id(self, value: Any) -> None:
        number = _number(value)
        if isinstance(number, str):
            self.problem(ID_COLUMN, number)
        elif id_outside(np.array([number])).any():
            self.problem(ID_COLUMN, f"{ID_RULE}, got {value}")

    def field(self, key: str, column: Column, value: Any) -> None:
        if column.name in self.given:
            self.problem(column.name, f"given twice, as '{self.given[column.name]}' and '{key}'")
            return
        self.given[column.name] = key
        number = _number(value)
        if isinstance(number, str):
            self.problem(column.name, number)
        elif not in_domain(number, column):
            self.problem(column.name, f"{column.rule}, got {_shown(value)}")
        else:
            self.values[INPUT_INDEX[column.name]] = number
            self.valid.add(column.name)

    def missing(self) -> None:
        absent = [c for c in INPUT_FEATURES if c not in self.given]
        for name in absent[:5]:
            self.problem(name, "missing field")
        if len(absent) > 5:
            self.problem("*", f"{len(absent) - 5} more missing")

    def groups(self) -> None:
        for group, columns in GROUPS.items():
            if all(c.name in self.valid for c in columns) and (
                self.values[GROUP_INDEX[group]].sum() > 1
            ):
                self.problem(group, ONE_HOT_RULE)
