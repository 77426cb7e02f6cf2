"""The contract table and what is derived from it: the cases issue 10 measured, in process."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fraud_detection.core.contract import BY_NAME, GROUPS, INPUTS, NOT_EMPLOYED, field_table
from fraud_detection.core.features import (
    FEATURES,
    INPUT_FEATURES,
    ContractError,
    feature_matrix,
    validate_frame,
)
from fraud_detection.core.records import _checked_matrix, _fast_matrix, matrix_from_records
from fraud_detection.sources.synthetic import generate_lake_partitions
from service.openapi import openapi_document
from service.record_schema import record_schema

CONTRACT_PAGE = Path(__file__).resolve().parents[3] / "docs" / "contract.md"


@pytest.fixture
def record(month_frame: pd.DataFrame) -> dict[str, Any]:
    raw = month_frame.drop(columns=["CREDIT_TO_INCOME", "TARGET"]).head(1)
    return json.loads(raw.to_json(orient="records"))[0]


def _problems(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    with pytest.raises(ContractError) as error:
        matrix_from_records(records)
    return [(p.column, p.message) for p in error.value.problems]


def test_the_table_is_the_contract() -> None:
    assert tuple(c.name for c in INPUTS) == INPUT_FEATURES == FEATURES[:-1]
    assert {g: len(cs) for g, cs in GROUPS.items()} == {
        "NAME_FAMILY_STATUS": 4,
        "NAME_INCOME_TYPE": 3,
        "NAME_EDUCATION_TYPE": 2,
        "NAME_HOUSING_TYPE": 2,
        "OCCUPATION_TYPE": 3,
        "ORGANIZATION_TYPE": 7,
    }
    assert BY_NAME["NAME_FAMILY_STATUS_Single / not married"].alias == (
        "NAME_FAMILY_STATUS_Single_not_married"
    )
    for column in INPUTS:
        assert column.minimum <= column.maximum and column.meaning
        assert (column.kind in ("flag", "count", "rating")) == column.integer


def test_both_spellings_of_one_field_and_a_missing_field_are_rejected(
    record: dict[str, Any],
) -> None:
    # Was answered 200: the missing column's cell was never written (uninitialised memory)
    record["NAME_FAMILY_STATUS_Single_not_married"] = record[
        "NAME_FAMILY_STATUS_Single / not married"
    ]
    del record["AMT_ANNUITY"]
    assert _fast_matrix([record]) is None
    problems = _problems([record])
    assert ("AMT_ANNUITY", "record 0: missing field") in problems
    assert any(
        column == "NAME_FAMILY_STATUS_Single / not married" and "given twice" in message
        for column, message in problems
    )


def test_several_levels_of_a_one_hot_group_are_rejected_in_requests_as_in_months(
    record: dict[str, Any],
) -> None:
    for column in GROUPS["NAME_FAMILY_STATUS"]:
        record[column.name] = 1
    assert _fast_matrix([record]) is None
    assert ("NAME_FAMILY_STATUS", "record 0: more than one level set in a one-hot group") in (
        _problems([record])
    )
    with pytest.raises(ContractError, match="NAME_FAMILY_STATUS': more than one level"):
        validate_frame(pd.DataFrame([record]), require_target=False)


@pytest.mark.parametrize("value", [10**400, -(10**400), 10**309])
def test_a_number_too_large_for_a_float_names_its_field(record: dict[str, Any], value: int) -> None:
    record["AMT_INCOME_TOTAL"] = value
    assert _fast_matrix([record]) is None
    assert _problems([record]) == [
        ("AMT_INCOME_TOTAL", "record 0: got a number too large for a float")
    ]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("DAYS_BIRTH", 12_000),
        ("DAYS_EMPLOYED", 10),
        ("DAYS_EMPLOYED", 365_242),  # next to the placeholder is no placeholder
        ("DAYS_EMPLOYED", 365_243.5),
        ("DAYS_REGISTRATION", 365_243),  # the placeholder is DAYS_EMPLOYED's only
        ("CNT_CHILDREN", 10**30),
        ("AMT_CREDIT", 1e308),
        ("AMT_GOODS_PRICE", 0),
        ("CNT_FAM_MEMBERS", 0),
        ("PREV_NAME_CONTRACT_STATUS_Refused_sum", 10**6),
        ("PREV_DAYS_DECISION_mean", 3.5),
    ],
)
def test_values_no_application_can_have_are_rejected_in_requests_and_months(
    record: dict[str, Any], column: str, value: Any
) -> None:
    record[column] = value
    assert _fast_matrix([record]) is None
    [(field, message)] = _problems([record])
    assert field == column and message.startswith(f"record 0: {BY_NAME[column].rule}")
    # (a month column holding 10**30 is not even numeric to pandas: rejected as such)
    with pytest.raises(ContractError, match=re.escape(f"'{column}': ")):
        validate_frame(pd.DataFrame([{**record, "SK_ID_CURR": 1}]), require_target=False)


def test_a_positive_days_employed_is_refused_with_the_placeholder_named(
    record: dict[str, Any],
) -> None:
    record["DAYS_EMPLOYED"] = 10
    assert _problems([record]) == [
        ("DAYS_EMPLOYED", "record 0: must be from -43,830 to 0, or 365243 (not employed), got 10")
    ]


def test_the_not_employed_placeholder_is_accepted_and_reaches_the_model_as_it_is(
    record: dict[str, Any],
) -> None:
    # Given the public data's "not employed" value, in a body beside an employed applicant
    assert NOT_EMPLOYED.value == 365243 and BY_NAME["DAYS_EMPLOYED"].placeholder == NOT_EMPLOYED
    records = [{**record, "DAYS_EMPLOYED": -1200}, {**record, "DAYS_EMPLOYED": 365243}]
    records.append({**record, "DAYS_EMPLOYED": 365243.0})  # a JSON client may send a float
    column = FEATURES.index("DAYS_EMPLOYED")
    # Then the fast path, the per-field path and month validation all accept it, unchanged
    fast = _fast_matrix(records)
    assert fast is not None
    np.testing.assert_array_equal(_checked_matrix(records), fast)
    assert fast[:, column].tolist() == [-1200, 365243, 365243]
    # (a body with one bad record takes the per-field path: only that record is named)
    assert [field for field, _ in _problems([*records, {**record, "DAYS_EMPLOYED": 1}])] == [
        "DAYS_EMPLOYED"
    ]
    assert _problems([*records, {**record, "DAYS_EMPLOYED": 1}])[0][1].startswith("record 3: ")
    month = validate_frame(
        pd.DataFrame(records).assign(SK_ID_CURR=[1, 2, 3], TARGET=0), source="month"
    )
    assert month["DAYS_EMPLOYED"].tolist() == [-1200, 365243, 365243]
    np.testing.assert_array_equal(feature_matrix(month), fast)


def test_an_accepted_record_gives_a_finite_matrix(record: dict[str, Any]) -> None:
    matrix = matrix_from_records([record])
    assert matrix.shape == (1, 54) and np.isfinite(matrix).all()


def test_every_synthetic_month_lies_inside_the_bounds() -> None:
    for partition in generate_lake_partitions(
        months=12, rows_per_month=3_000, base_rows=20_000, seed=1237
    ):
        validate_frame(partition.frame, source=partition.name)


def test_the_contract_page_holds_the_contract_table() -> None:
    assert field_table() in CONTRACT_PAGE.read_text(), "docs/contract.md is stale: ./run docs"


def test_the_openapi_record_lists_every_field_in_both_spellings() -> None:
    schema = record_schema()
    spellings = {s for c in INPUTS for s in c.spellings}
    assert spellings <= set(schema["properties"]) and len(spellings) == 58
    for column in INPUTS:
        for spelling in column.spellings:
            field = schema["properties"][spelling]
            if column.placeholder is None:
                assert (field["minimum"], field["maximum"]) == (column.minimum, column.maximum)
            else:  # the bounds, or exactly the placeholder
                bounds = {"minimum": column.minimum, "maximum": column.maximum}
                assert field["anyOf"] == [bounds, {"enum": [column.placeholder.value]}]
            assert column.meaning in field["description"]
    assert schema["additionalProperties"] is False
    assert "365243: not employed" in schema["properties"]["DAYS_EMPLOYED"]["description"]


def test_the_openapi_document_declares_every_error_with_the_one_shape() -> None:
    document = openapi_document(max_records=7, api_key=True)
    for path in ("/predict", "/score"):
        operation = document["paths"][path]["post"]
        data = document["components"]["schemas"]["ScoringRequest"]["properties"]["data"]
        assert (data["minItems"], data["maxItems"]) == (1, 7)
        for status in ("400", "401", "404", "405", "413", "415", "503"):
            schema = operation["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorResponse"}
    error = document["components"]["schemas"]["ErrorResponse"]
    assert set(error["required"]) == {"error", "problems"}
    assert "securitySchemes" in document["components"]
    assert "securitySchemes" not in openapi_document(max_records=7, api_key=False)["components"]
