"""Property tests: every validator derived from the contract table agrees with every other.

For random valid records and random corruptions of them, the fast request path, the per-field
error path, month validation and the OpenAPI record schema accept and reject the same records,
and an accepted record gives the same model matrix on every path.
"""

from __future__ import annotations

import math
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraud_detection.core.contract import (
    BY_NAME,
    GROUPS,
    ID_COLUMN,
    INPUTS,
    MAX_ID,
    TARGET_COLUMN,
    Column,
)
from fraud_detection.core.features import ContractError, feature_matrix, validate_frame
from fraud_detection.core.records import _checked_matrix, _fast_matrix, matrix_from_records
from service.record_schema import record_schema

PROPERTY = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
RECORD_SCHEMA = jsonschema.Draft7Validator(record_schema())


def _value(column: Column) -> st.SearchStrategy[Any]:
    if column.integer:
        return st.integers(int(column.minimum), int(column.maximum))
    floats = st.floats(column.minimum, column.maximum, allow_nan=False)
    wholes = st.integers(math.ceil(column.minimum), math.floor(column.maximum))
    values = floats | wholes  # a JSON client may send 1000 for 1000.0
    if column.placeholder is not None:  # e.g. DAYS_EMPLOYED = 365243, "not employed"
        value = column.placeholder.value
        values |= st.sampled_from([value, float(value)])
    return values


@st.composite
def valid_records(
    draw: st.DrawFn, *, use_alias: bool | None = None, with_id: bool | None = None
) -> dict[str, Any]:
    """A record inside every bound, at most one level per one-hot group; each field in either
    spelling (or all in the one ``use_alias`` says), with an id or not (or as ``with_id`` says)."""
    levels = {g: draw(st.sampled_from([None, *cols])) for g, cols in GROUPS.items()}
    record: dict[str, Any] = {}
    if draw(st.booleans()) if with_id is None else with_id:
        record[ID_COLUMN] = draw(st.integers(0, MAX_ID))
    for column in INPUTS:
        alias = draw(st.booleans()) if use_alias is None else use_alias
        key = column.alias if alias and column.alias else column.name
        if column.group is not None:
            record[key] = int(levels[column.group] is column)
        else:
            record[key] = draw(_value(column))
    return record


def _spelling_of(record: dict[str, Any], column: Column) -> str:
    return next(s for s in column.spellings if s in record)


def _outside(column: Column) -> st.SearchStrategy[Any]:
    below = st.floats(max_value=column.minimum, exclude_max=True, allow_nan=False)
    above = st.floats(min_value=column.maximum, exclude_min=True, allow_nan=False)
    huge = st.integers(300, 450).map(lambda k: 10**k) | st.integers(300, 450).map(
        lambda k: -(10**k)
    )
    values = below | above | huge | st.sampled_from([math.nan, math.inf, -math.inf])
    if column.placeholder is not None:
        value = column.placeholder.value
        near = st.sampled_from([value - 1, value + 1, value - 0.5, value + 1e-6, -value])
        values = values.filter(lambda v: v != value) | near
    if column.integer:
        fractions = st.floats(column.minimum, column.maximum, allow_nan=False).filter(
            lambda v: not float(v).is_integer()
        )
        values |= fractions
    return values


@st.composite
def corrupted_records(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A valid record with one rule broken → (record, what was broken)."""
    record = draw(valid_records())
    column = draw(st.sampled_from(INPUTS))
    key = _spelling_of(record, column)
    kind = draw(
        st.sampled_from(
            ["missing", "both spellings", "unknown", "outside", "type", "one-hot", "id"]
        )
    )
    if kind == "missing":
        del record[key]
    elif kind == "both spellings" and column.alias:
        record[column.alias if key == column.name else column.name] = record[key]
    elif kind == "unknown":
        record[draw(st.sampled_from(["SALARY", "amt_credit", "AMT_CREDIT ", ""]))] = 1
    elif kind == "type":
        record[key] = draw(st.sampled_from(["1", None, True, False, [1], {"v": 1}]))
    elif kind == "one-hot":
        group = draw(st.sampled_from(list(GROUPS)))
        first, second = draw(st.permutations(GROUPS[group]))[:2]
        record[_spelling_of(record, first)] = 1
        record[_spelling_of(record, second)] = 1
    elif kind == "id":
        record[ID_COLUMN] = draw(
            st.sampled_from([-1, MAX_ID + 1, 10**400, 1.5, "212200", None, True])
        )
    else:
        kind = "outside"
        record[key] = draw(_outside(column))
    return record, kind


def _accepts(check: Any, *args: Any) -> bool:
    try:
        check(*args)
    except ContractError:
        return False
    return True


def _beyond_64_bits(value: Any) -> bool:
    return isinstance(value, int) and not -(2**63) <= value < 2**64


def _month_matrix(record: dict[str, Any]) -> np.ndarray | None:
    """The record as a one-row month partition; None when month validation rejects it."""
    row = {ID_COLUMN: 1, **record}
    try:
        # A whole number beyond 64 bits fits no Parquet or CSV column type: pandas 2 refuses to
        # infer one, so such a value reaches validation as an object, as it does in pandas 3.
        columns = {
            k: pd.Series([v], dtype=object if _beyond_64_bits(v) else None) for k, v in row.items()
        }
        frame = validate_frame(pd.DataFrame(columns), require_target=False)
    except ContractError:
        return None
    return feature_matrix(frame)


def _json_valid(record: dict[str, Any]) -> bool:
    return RECORD_SCHEMA.is_valid(record)


def _sent_as_json(record: dict[str, Any]) -> bool:
    """NaN and ±∞ are not JSON; the schema cannot speak about them (the service rejects them)."""
    return all(not (isinstance(v, float) and not math.isfinite(v)) for v in record.values())


@PROPERTY
@given(st.lists(valid_records() | corrupted_records().map(lambda c: c[0]), min_size=1, max_size=4))
def test_fast_path_and_error_path_agree(records: list[dict[str, Any]]) -> None:
    fast = _fast_matrix(records)
    try:
        checked = _checked_matrix(records)
    except ContractError:
        assert fast is None, "the fast path accepted what the error path rejects"
        return
    if fast is not None:
        np.testing.assert_array_equal(fast, checked)
    assert np.isfinite(checked).all() and checked.dtype == np.float32


@PROPERTY
@given(
    st.tuples(st.booleans(), st.booleans()).flatmap(
        lambda spelling: st.lists(
            valid_records(use_alias=spelling[0], with_id=spelling[1]), min_size=1, max_size=5
        )
    )
)
def test_valid_uniformly_spelled_records_take_the_fast_path(records: list[dict[str, Any]]) -> None:
    fast = _fast_matrix(records)
    assert fast is not None
    np.testing.assert_array_equal(fast, _checked_matrix(records))


@PROPERTY
@given(valid_records())
def test_a_valid_record_is_accepted_everywhere_with_the_same_matrix(record: dict[str, Any]) -> None:
    matrix = matrix_from_records([record])
    np.testing.assert_array_equal(matrix, _checked_matrix([record]))
    month = _month_matrix(record)
    assert month is not None
    np.testing.assert_array_equal(month, matrix)
    assert _json_valid(record)


@PROPERTY
@given(corrupted_records())
def test_a_corrupted_record_is_rejected_everywhere(corrupted: tuple[dict[str, Any], str]) -> None:
    record, kind = corrupted
    accepted = _accepts(matrix_from_records, [record])
    assert accepted == _accepts(_checked_matrix, [record])
    assert accepted == (_month_matrix(record) is not None), kind
    if _sent_as_json(record):
        assert accepted == _json_valid(record), kind
    # Only a corruption that changed nothing (e.g. both spellings of a field with one) passes
    if accepted:
        assert kind == "both spellings", kind


@pytest.mark.parametrize("column", INPUTS, ids=lambda c: c.name)
def test_each_bound_is_inclusive_and_enforced_on_every_path(column: Column) -> None:
    base = {c.name: (c.minimum if c.group is None else 0) for c in INPUTS}
    for value, ok in [
        (column.minimum, True),
        (column.maximum, True),
        (np.nextafter(column.minimum, -np.inf), False),
        (np.nextafter(column.maximum, np.inf), False),
    ]:
        record = {**base, column.name: float(value)}
        assert _accepts(matrix_from_records, [record]) is ok, (value, ok)
        assert _accepts(_checked_matrix, [record]) is ok
        assert (_month_matrix(record) is not None) is ok
        assert _json_valid(record) is ok


def test_target_is_ignored_in_requests_and_checked_in_months() -> None:
    record = {c.name: (c.minimum if c.group is None else 0) for c in INPUTS}
    assert _accepts(matrix_from_records, [{**record, TARGET_COLUMN: "anything"}])
    with pytest.raises(ContractError, match="TARGET"):
        validate_frame(pd.DataFrame([{**record, ID_COLUMN: 1, TARGET_COLUMN: 2}]))
    assert BY_NAME["AMT_INCOME_TOTAL"].minimum > 0
