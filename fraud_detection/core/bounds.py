"""The rules of the contract table as arrays over the 53 inputs in contract order: one
implementation of "in the domain" for whole columns (months, the request fast path) and for single
values (the request error path). A column's documented placeholder is in its domain everywhere."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fraud_detection.core.contract import GROUPS, INPUTS, MAX_ID, Column

INPUT_INDEX = {c.name: i for i, c in enumerate(INPUTS)}
_LOW = np.array([c.minimum for c in INPUTS], dtype=np.float64)
_HIGH = np.array([c.maximum for c in INPUTS], dtype=np.float64)
_INTEGER = np.array([c.integer for c in INPUTS])
_INTEGER_INDEX = np.flatnonzero(_INTEGER)
# Each column's placeholder (a value outside its bounds), NaN for none: NaN equals nothing.
_PLACEHOLDER = np.array(
    [np.nan if c.placeholder is None else c.placeholder.value for c in INPUTS], dtype=np.float64
)
GROUP_INDEX = {g: np.array([INPUT_INDEX[c.name] for c in cs]) for g, cs in GROUPS.items()}
_GROUPED_INDEX = np.concatenate(list(GROUP_INDEX.values()))
# (grouped columns) x (groups): one matrix product sums every group of every row at once.
_GROUP_SUM = np.zeros((len(_GROUPED_INDEX), len(GROUPS)))
for _g, _group in enumerate(GROUPS):
    for _column in GROUPS[_group]:
        _GROUP_SUM[list(_GROUPED_INDEX).index(INPUT_INDEX[_column.name]), _g] = 1.0


def outside(values: np.ndarray, column: Column) -> np.ndarray:
    """Rows of one column's float64 values outside its domain (NaN and ±∞ included)."""
    bad = ~((values >= column.minimum) & (values <= column.maximum))
    if column.placeholder is not None:
        bad &= values != column.placeholder.value
    if column.integer:
        bad |= values != np.floor(values)
    return bad


def in_domain(value: float, column: Column) -> bool:
    if column.placeholder is not None and value == column.placeholder.value:
        return True
    return column.minimum <= value <= column.maximum and (
        not column.integer or value == math.floor(value)
    )


@dataclass(frozen=True)
class Rules:
    """The table's rules over the matrix the fast path fills: [the id,] the 53 inputs."""

    low: np.ndarray
    high: np.ndarray
    integer: np.ndarray
    grouped: np.ndarray
    placeholder: np.ndarray

    @classmethod
    def with_id(cls, offset: int) -> Rules:
        return cls(
            np.concatenate([[0.0] * offset, _LOW]),
            np.concatenate([[float(MAX_ID)] * offset, _HIGH]),
            np.concatenate([np.arange(offset), _INTEGER_INDEX + offset]).astype(int),
            _GROUPED_INDEX + offset,
            np.concatenate([[np.nan] * offset, _PLACEHOLDER]),
        )

    def valid(self, values: np.ndarray) -> bool:
        """Every rule on a float64 matrix at once; NaN and ±∞ fail the bounds."""
        inside = (values >= self.low) & (values <= self.high)
        if not inside.all():
            # Only then look for placeholders: a batch without one pays nothing for them.
            np.logical_or(inside, values == self.placeholder, out=inside)
            if not inside.all():
                return False
        integer = values[:, self.integer]
        return bool(
            (integer == np.floor(integer)).all()
            and (values[:, self.grouped] @ _GROUP_SUM <= 1).all()
        )


RULES = (Rules.with_id(0), Rules.with_id(1))  # by the number of leading id columns


def id_outside(values: np.ndarray) -> np.ndarray:
    outside: np.ndarray = ~((values >= 0) & (values <= MAX_ID)) | (values != np.floor(values))
    return outside
