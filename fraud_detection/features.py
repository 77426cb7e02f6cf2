"""The feature contract (seed-contract.md §1): 54 columns in a fixed order, used by training and
serving alike so the two can never disagree."""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

ID_COLUMN = "SK_ID_CURR"
TARGET_COLUMN = "TARGET"
DERIVED_COLUMN = "CREDIT_TO_INCOME"

FEATURES: tuple[str, ...] = (
    "NAME_CONTRACT_TYPE", "CODE_GENDER", "FLAG_OWN_CAR", "FLAG_OWN_REALTY", "CNT_CHILDREN",
    "AMT_INCOME_TOTAL", "AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE", "DAYS_BIRTH",
    "DAYS_EMPLOYED", "DAYS_REGISTRATION", "CNT_FAM_MEMBERS", "FLAG_EMP_PHONE", "FLAG_WORK_PHONE",
    "FLAG_CONT_MOBILE", "FLAG_EMAIL", "REGION_RATING_CLIENT", "REG_REGION_NOT_LIVE_REGION",
    "PREV_AMT_CREDIT_mean", "PREV_AMT_CREDIT_max", "PREV_CNT_PAYMENT_mean",
    "PREV_NFLAG_LAST_APPL_IN_DAY_sum", "PREV_DAYS_DECISION_mean",
    "PREV_NAME_CONTRACT_STATUS_Approved_sum", "PREV_NAME_CONTRACT_STATUS_Refused_sum",
    "PREV_NAME_CONTRACT_STATUS_Canceled_sum", "PREV_NAME_CONTRACT_STATUS_Unused offer_sum",
    "PREV_NAME_CLIENT_TYPE_New_sum", "PREV_NAME_CLIENT_TYPE_Repeater_sum",
    "PREV_NAME_CLIENT_TYPE_Refreshed_sum", "PREV_NAME_CLIENT_TYPE_XNA_sum",
    "NAME_FAMILY_STATUS_Married", "NAME_FAMILY_STATUS_Separated",
    "NAME_FAMILY_STATUS_Single / not married", "NAME_FAMILY_STATUS_Widow",
    "NAME_INCOME_TYPE_Public", "NAME_INCOME_TYPE_Retired", "NAME_INCOME_TYPE_Working",
    "NAME_EDUCATION_TYPE_Lower", "NAME_EDUCATION_TYPE_Secondary",
    "NAME_HOUSING_TYPE_Stable", "NAME_HOUSING_TYPE_With parents",
    "OCCUPATION_TYPE_Service", "OCCUPATION_TYPE_Unknown", "OCCUPATION_TYPE_White collar",
    "ORGANIZATION_TYPE_Business", "ORGANIZATION_TYPE_Government",
    "ORGANIZATION_TYPE_Health/Education", "ORGANIZATION_TYPE_Industry",
    "ORGANIZATION_TYPE_Services", "ORGANIZATION_TYPE_Trade", "ORGANIZATION_TYPE_Transport",
    "CREDIT_TO_INCOME",
)  # fmt: skip
INPUT_FEATURES: tuple[str, ...] = FEATURES[:-1]  # the 53 a record carries; the last is derived
assert len(FEATURES) == 54 and FEATURES[-1] == DERIVED_COLUMN

# One-hot groups (first level dropped, so "all zero" is a valid baseline level).
ONE_HOT_GROUPS: dict[str, tuple[str, ...]] = {
    prefix: tuple(c for c in FEATURES if c.startswith(prefix + "_"))
    for prefix in (
        "NAME_FAMILY_STATUS", "NAME_INCOME_TYPE", "NAME_EDUCATION_TYPE", "NAME_HOUSING_TYPE",
        "OCCUPATION_TYPE", "ORGANIZATION_TYPE",
    )
}  # fmt: skip
BINARY_COLUMNS: tuple[str, ...] = (
    "NAME_CONTRACT_TYPE", "CODE_GENDER", "FLAG_OWN_CAR", "FLAG_OWN_REALTY", "FLAG_EMP_PHONE",
    "FLAG_WORK_PHONE", "FLAG_CONT_MOBILE", "FLAG_EMAIL", "REG_REGION_NOT_LIVE_REGION",
    *(c for cols in ONE_HOT_GROUPS.values() for c in cols),
)  # fmt: skip
COUNT_COLUMNS: tuple[str, ...] = (
    "CNT_CHILDREN", "CNT_FAM_MEMBERS", "PREV_NFLAG_LAST_APPL_IN_DAY_sum",
    *(c for c in INPUT_FEATURES if c.startswith(("PREV_NAME_CONTRACT_STATUS_", "PREV_NAME_CLIENT_TYPE_"))),
)  # fmt: skip
NON_NEGATIVE_COLUMNS: tuple[str, ...] = (
    "AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE", "PREV_AMT_CREDIT_mean",
    "PREV_AMT_CREDIT_max", "PREV_CNT_PAYMENT_mean", *COUNT_COLUMNS,
)  # fmt: skip
INTEGER_COLUMNS: tuple[str, ...] = (*BINARY_COLUMNS, *COUNT_COLUMNS, "REGION_RATING_CLIENT")
REGION_RATINGS = (1, 2, 3)


def underscore_name(name: str) -> str:
    """The original's underscore variant: ``Single / not married`` → ``Single_not_married``."""
    return re.sub(r"[^0-9A-Za-z_]+", "_", name)


# Every accepted spelling of an input column → its contract name.
COLUMN_ALIASES: dict[str, str] = {
    **{underscore_name(c): c for c in INPUT_FEATURES},
    **{c: c for c in INPUT_FEATURES},
}


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
    """The one derived feature. Income must be > 0 (validated before this is called)."""
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
    if problems:
        raise ContractError(problems, source)

    numeric: dict[str, pd.Series] = {}
    for column in required:
        series = frame[column]
        if series.dtype == bool or not (
            pd.api.types.is_numeric_dtype(series) or series.isna().all()
        ):
            problems.append(Problem(column, f"expected numbers, got dtype {series.dtype}"))
            continue
        values = series.astype("float64")
        bad = ~np.isfinite(values.to_numpy())
        if bad.any():
            problems.append(Problem(column, "missing, NaN or infinite value", _rows(bad)))
            continue
        numeric[column] = values
    for column in INTEGER_COLUMNS:
        if column in numeric:
            values = numeric[column]
            fractional = values != np.round(values)
            if fractional.any():
                problems.append(Problem(column, "expected whole numbers", _rows(fractional)))
    for column in BINARY_COLUMNS:
        if column in numeric:
            outside = ~numeric[column].isin((0, 1))
            if outside.any():
                problems.append(Problem(column, "flag must be 0 or 1", _rows(outside)))
    for prefix, columns in ONE_HOT_GROUPS.items():
        if all(c in numeric for c in columns):
            several = sum(numeric[c] for c in columns) > 1
            if several.any():
                problems.append(
                    Problem(prefix, "more than one level set in a one-hot group", _rows(several))
                )
    for column in NON_NEGATIVE_COLUMNS:
        if column in numeric:
            negative = numeric[column] < 0
            if negative.any():
                problems.append(Problem(column, "must not be negative", _rows(negative)))
    if "AMT_INCOME_TOTAL" in numeric:
        non_positive = numeric["AMT_INCOME_TOTAL"] <= 0
        if non_positive.any():
            problems.append(
                Problem("AMT_INCOME_TOTAL", "must be greater than 0", _rows(non_positive))
            )
    if "REGION_RATING_CLIENT" in numeric:
        outside = ~numeric["REGION_RATING_CLIENT"].isin(REGION_RATINGS)
        if outside.any():
            problems.append(Problem("REGION_RATING_CLIENT", "must be 1, 2 or 3", _rows(outside)))
    if ID_COLUMN in numeric:
        duplicated = frame[ID_COLUMN].duplicated(keep="first")
        if duplicated.any():
            problems.append(Problem(ID_COLUMN, "duplicated application id", _rows(duplicated)))
    if require_target and TARGET_COLUMN in numeric:
        outside = ~numeric[TARGET_COLUMN].isin((0, 1))
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
    return frame.loc[:, list(FEATURES)].to_numpy(dtype=np.float32)


def feature_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The 54 contract columns in order (for fitting, where XGBoost records the names)."""
    if DERIVED_COLUMN not in frame.columns:
        frame = add_derived(frame)
    return frame.loc[:, list(FEATURES)].astype("float32")


# ---------------------------------------------------------------------------------------------
# Records as they arrive over HTTP: a list of JSON objects.

_INPUT_INDEX = {name: i for i, name in enumerate(INPUT_FEATURES)}
_BINARY_SET = frozenset(BINARY_COLUMNS)
_NON_NEGATIVE_SET = frozenset(NON_NEGATIVE_COLUMNS)
_INTEGER_SET = frozenset(INTEGER_COLUMNS)
_IGNORED_FIELDS = frozenset({ID_COLUMN, TARGET_COLUMN, DERIVED_COLUMN})


_NUMBER_TYPES = frozenset({int, float})  # exact types: bool is not a number here
_BINARY_INDEX = np.array([_INPUT_INDEX[c] for c in BINARY_COLUMNS])
_INTEGER_INDEX = np.array([_INPUT_INDEX[c] for c in INTEGER_COLUMNS])
_NON_NEGATIVE_INDEX = np.array([_INPUT_INDEX[c] for c in NON_NEGATIVE_COLUMNS])
_REGION_RATINGS = np.array(REGION_RATINGS, dtype=np.float64)


@functools.lru_cache(maxsize=64)
def _getter_for(keys: frozenset[str]) -> operator.itemgetter[Any] | None:
    """How to read the 53 inputs, in contract order, from records spelled with ``keys``.

    None when a field is missing, unknown or given twice (the precise path then says which).
    """
    spelling: dict[str, str] = {}
    for key in keys:
        name = COLUMN_ALIASES.get(key)
        if name is None:
            if key not in _IGNORED_FIELDS:
                return None
        elif name in spelling:
            return None
        else:
            spelling[name] = key
    if len(spelling) != len(INPUT_FEATURES):
        return None
    return operator.itemgetter(*(spelling[c] for c in INPUT_FEATURES))


def _valid(inputs: np.ndarray) -> bool:
    """Every check of the precise path, on whole columns at once."""
    binary, integer = inputs[:, _BINARY_INDEX], inputs[:, _INTEGER_INDEX]
    region = inputs[:, _INPUT_INDEX["REGION_RATING_CLIENT"]]
    return bool(
        np.isfinite(inputs).all()
        and ((binary == 0) | (binary == 1)).all()
        and (integer == np.floor(integer)).all()
        and (inputs[:, _NON_NEGATIVE_INDEX] >= 0).all()
        and (inputs[:, _INPUT_INDEX["AMT_INCOME_TOTAL"]] > 0).all()
        # A broadcast compare: np.isin sorts, which costs more than the rest for one record.
        and (region[:, None] == _REGION_RATINGS).any(axis=1).all()
    )


def _fast_matrix(records: Sequence[Mapping[str, Any]]) -> np.ndarray | None:
    """The common case — every record valid and spelled alike — at C speed; None otherwise."""
    if not records or not isinstance(records[0], dict):
        return None
    keys = records[0].keys()
    getter = _getter_for(frozenset(keys))
    if getter is None:
        return None
    rows = []
    for record in records:
        if not isinstance(record, dict) or record.keys() != keys:
            return None
        values = getter(record)
        if not _NUMBER_TYPES.issuperset(map(type, values)):
            return None
        rows.append(values)
    matrix = np.empty((len(rows), len(FEATURES)), dtype=np.float64)
    matrix[:, :-1] = rows
    return _with_derived(matrix) if _valid(matrix[:, :-1]) else None


def _with_derived(matrix: np.ndarray) -> np.ndarray:
    """Fill the derived last column of a validated (n, 54) matrix; the model takes float32."""
    matrix[:, -1] = credit_to_income(
        matrix[:, _INPUT_INDEX["AMT_CREDIT"]], matrix[:, _INPUT_INDEX["AMT_INCOME_TOTAL"]]
    )
    return matrix.astype(np.float32)


def matrix_from_records(records: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Turn request records into the (n, 54) float32 model input.

    Raises :class:`ContractError` naming the record index and field of each problem.
    """
    fast = _fast_matrix(records)
    if fast is not None:
        return fast
    n = len(records)
    matrix = np.empty((n, len(FEATURES)), dtype=np.float64)
    problems: list[Problem] = []
    for row, record in enumerate(records):
        if not isinstance(record, Mapping):
            problems.append(Problem("*", f"record {row} is not an object"))
            continue
        seen = 0
        for key, value in record.items():
            name = COLUMN_ALIASES.get(key)
            if name is None:
                if key not in _IGNORED_FIELDS:
                    problems.append(Problem(key, f"unknown field in record {row}"))
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(
                    Problem(name, f"record {row}: expected a number, got {type(value).__name__}")
                )
                continue
            if not math.isfinite(value):
                problems.append(Problem(name, f"record {row}: NaN or infinite value"))
                continue
            if name in _BINARY_SET and value not in (0, 1):
                problems.append(Problem(name, f"record {row}: flag must be 0 or 1, got {value}"))
            elif name in _INTEGER_SET and value != int(value):
                problems.append(
                    Problem(name, f"record {row}: expected a whole number, got {value}")
                )
            elif name in _NON_NEGATIVE_SET and value < 0:
                problems.append(Problem(name, f"record {row}: must not be negative, got {value}"))
            elif name == "AMT_INCOME_TOTAL" and value <= 0:
                problems.append(Problem(name, f"record {row}: must be greater than 0, got {value}"))
            elif name == "REGION_RATING_CLIENT" and value not in REGION_RATINGS:
                problems.append(Problem(name, f"record {row}: must be 1, 2 or 3, got {value}"))
            matrix[row, _INPUT_INDEX[name]] = value
            seen += 1
        if seen < len(INPUT_FEATURES):
            given = {COLUMN_ALIASES.get(k) for k in record}
            missing = [c for c in INPUT_FEATURES if c not in given]
            for column in missing[:5]:
                problems.append(Problem(column, f"record {row}: missing field"))
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
