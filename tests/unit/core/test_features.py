from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from fraud_detection.core.bands import RiskBands
from fraud_detection.core.features import (
    FEATURES,
    ContractError,
    feature_matrix,
    request_records,
    underscore_name,
    validate_frame,
)
from fraud_detection.core.records import matrix_from_records

# docs/contract.md (the original's 54 columns), written out again so a change to the contract cannot go unnoticed
CONTRACT = """NAME_CONTRACT_TYPE, CODE_GENDER, FLAG_OWN_CAR, FLAG_OWN_REALTY, CNT_CHILDREN,
AMT_INCOME_TOTAL, AMT_CREDIT, AMT_ANNUITY, AMT_GOODS_PRICE, DAYS_BIRTH, DAYS_EMPLOYED,
DAYS_REGISTRATION, CNT_FAM_MEMBERS, FLAG_EMP_PHONE, FLAG_WORK_PHONE, FLAG_CONT_MOBILE,
FLAG_EMAIL, REGION_RATING_CLIENT, REG_REGION_NOT_LIVE_REGION,
PREV_AMT_CREDIT_mean, PREV_AMT_CREDIT_max, PREV_CNT_PAYMENT_mean,
PREV_NFLAG_LAST_APPL_IN_DAY_sum, PREV_DAYS_DECISION_mean,
PREV_NAME_CONTRACT_STATUS_Approved_sum, PREV_NAME_CONTRACT_STATUS_Refused_sum,
PREV_NAME_CONTRACT_STATUS_Canceled_sum, PREV_NAME_CONTRACT_STATUS_Unused offer_sum,
PREV_NAME_CLIENT_TYPE_New_sum, PREV_NAME_CLIENT_TYPE_Repeater_sum,
PREV_NAME_CLIENT_TYPE_Refreshed_sum, PREV_NAME_CLIENT_TYPE_XNA_sum,
NAME_FAMILY_STATUS_Married, NAME_FAMILY_STATUS_Separated,
NAME_FAMILY_STATUS_Single / not married, NAME_FAMILY_STATUS_Widow,
NAME_INCOME_TYPE_Public, NAME_INCOME_TYPE_Retired, NAME_INCOME_TYPE_Working,
NAME_EDUCATION_TYPE_Lower, NAME_EDUCATION_TYPE_Secondary,
NAME_HOUSING_TYPE_Stable, NAME_HOUSING_TYPE_With parents,
OCCUPATION_TYPE_Service, OCCUPATION_TYPE_Unknown, OCCUPATION_TYPE_White collar,
ORGANIZATION_TYPE_Business, ORGANIZATION_TYPE_Government,
ORGANIZATION_TYPE_Health/Education, ORGANIZATION_TYPE_Industry,
ORGANIZATION_TYPE_Services, ORGANIZATION_TYPE_Trade, ORGANIZATION_TYPE_Transport,
CREDIT_TO_INCOME"""


def test_the_54_columns_in_the_contract_order() -> None:
    expected = [name.strip() for name in CONTRACT.replace("\n", " ").split(",")]
    assert list(FEATURES) == expected and len(FEATURES) == 54


def test_credit_to_income_is_derived(month_frame: pd.DataFrame) -> None:
    matrix = feature_matrix(month_frame.drop(columns=["CREDIT_TO_INCOME"]))
    expected = (month_frame["AMT_CREDIT"] / month_frame["AMT_INCOME_TOTAL"]).to_numpy(np.float32)
    np.testing.assert_allclose(matrix[:, -1], expected, rtol=1e-6)


def _raw(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["CREDIT_TO_INCOME"]).head(20).copy()


def _broken(frame: pd.DataFrame, case: str) -> pd.DataFrame:
    bad = _raw(frame)
    if case == "missing":
        return bad.drop(columns=["AMT_ANNUITY"])
    if case == "unknown":
        return bad.assign(SALARY=1)
    if case == "dtype":
        return bad.assign(DAYS_BIRTH=bad["DAYS_BIRTH"].astype(str))
    if case == "nan":
        bad["AMT_GOODS_PRICE"] = bad["AMT_GOODS_PRICE"].astype(float)
        bad.loc[3, "AMT_GOODS_PRICE"] = np.nan
    elif case == "inf":
        bad.loc[4, "PREV_AMT_CREDIT_max"] = np.inf
    elif case == "income-zero":
        bad.loc[2, "AMT_INCOME_TOTAL"] = 0
    elif case == "income-negative":
        bad.loc[2, "AMT_INCOME_TOTAL"] = -10
    elif case == "flag":
        bad.loc[1, "FLAG_EMAIL"] = 2
    elif case == "one-hot":
        bad.loc[0, ["NAME_HOUSING_TYPE_Stable", "NAME_HOUSING_TYPE_With parents"]] = 1
    elif case == "negative":
        bad.loc[5, "AMT_CREDIT"] = -1
    elif case == "target":
        bad.loc[6, "TARGET"] = 2
    elif case == "duplicate":
        bad.loc[7, "SK_ID_CURR"] = bad.loc[6, "SK_ID_CURR"]
    elif case == "region":
        bad.loc[8, "REGION_RATING_CLIENT"] = 5
    return bad


@pytest.mark.parametrize(
    ("case", "column", "words"),
    [
        ("missing", "AMT_ANNUITY", "missing column"),
        ("unknown", "SALARY", "unknown column"),
        ("dtype", "DAYS_BIRTH", "expected numbers"),
        ("nan", "AMT_GOODS_PRICE", "NaN"),
        ("inf", "PREV_AMT_CREDIT_max", "infinite"),
        ("income-zero", "AMT_INCOME_TOTAL", "greater than 0"),
        ("income-negative", "AMT_INCOME_TOTAL", "greater than 0"),
        ("flag", "FLAG_EMAIL", "0 or 1"),
        ("one-hot", "NAME_HOUSING_TYPE", "more than one level"),
        ("negative", "AMT_CREDIT", "greater than 0"),
        ("target", "TARGET", "0 or 1"),
        ("duplicate", "SK_ID_CURR", "duplicated"),
        ("region", "REGION_RATING_CLIENT", "1, 2 or 3"),
    ],
)
def test_each_violation_names_the_column_and_the_problem(
    month_frame: pd.DataFrame, case: str, column: str, words: str
) -> None:
    with pytest.raises(ContractError) as error:
        validate_frame(
            _broken(month_frame, case), source="incoming/month=2025-01/applications.parquet"
        )
    message = str(error.value)
    assert message.startswith("incoming/month=2025-01/applications.parquet: ")
    assert f"column '{column}'" in message and words in message


def test_underscore_spellings_are_accepted(month_frame: pd.DataFrame) -> None:
    raw = _raw(month_frame)
    renamed = raw.rename(columns={c: underscore_name(c) for c in raw.columns})
    assert "NAME_FAMILY_STATUS_Single_not_married" in renamed.columns
    assert validate_frame(renamed).equals(validate_frame(raw))


def test_records_give_the_same_matrix_as_frames(month_frame: pd.DataFrame) -> None:
    records = request_records(_raw(month_frame))
    for record in records[::2]:
        record["ORGANIZATION_TYPE_Health_Education"] = record.pop(
            "ORGANIZATION_TYPE_Health/Education"
        )
    np.testing.assert_array_equal(
        matrix_from_records(records), feature_matrix(validate_frame(_raw(month_frame)))
    )


@pytest.mark.parametrize("spell", [str, underscore_name], ids=["contract names", "underscores"])
def test_uniformly_spelled_records_give_the_same_matrix_as_frames(
    month_frame: pd.DataFrame, spell: Any
) -> None:
    # Every record spelled alike (the usual request) takes the column-wise path
    records = [{spell(k): v for k, v in r.items()} for r in request_records(_raw(month_frame))]
    np.testing.assert_array_equal(
        matrix_from_records(records), feature_matrix(validate_frame(_raw(month_frame)))
    )


@pytest.mark.parametrize(
    ("change", "column", "words"),
    [
        ({"AMT_CREDIT": ...}, "AMT_CREDIT", "record 1: missing field"),
        ({"DAYS_BIRTH": "old"}, "DAYS_BIRTH", "expected a number, got str"),
        ({"CNT_CHILDREN": True}, "CNT_CHILDREN", "expected a number, got bool"),
        ({"AMT_ANNUITY": float("nan")}, "AMT_ANNUITY", "NaN"),
        ({"AMT_INCOME_TOTAL": 0}, "AMT_INCOME_TOTAL", "greater than 0"),
        ({"FLAG_EMAIL": 2}, "FLAG_EMAIL", "0 or 1"),
        ({"CNT_CHILDREN": 1.5}, "CNT_CHILDREN", "whole number"),
        ({"AMT_CREDIT": -5.0}, "AMT_CREDIT", "must be greater than 0"),
        ({"REGION_RATING_CLIENT": 4}, "REGION_RATING_CLIENT", "1, 2 or 3"),
        ({"FLAG_EMAIL": None}, "FLAG_EMAIL", "got NoneType"),
        ({"AMT_ANNUITY": float("inf")}, "AMT_ANNUITY", "infinite"),
    ],
)
def test_record_errors_name_the_record_and_the_field(
    month_frame: pd.DataFrame, change: dict[str, Any], column: str, words: str
) -> None:
    records = request_records(_raw(month_frame))[:3]
    for key, value in change.items():
        if value is ...:
            del records[1][key]
        else:
            records[1][key] = value
    with pytest.raises(ContractError) as error:
        matrix_from_records(records)
    assert error.value.problems[0].column == column
    assert words in str(error.value) and "record 1" in str(error.value)


def test_risk_bands_boundaries() -> None:
    bands = RiskBands(0.25, 0.45)
    assert [bands.level(p) for p in (0.0, 0.2499, 0.25, 0.45, 0.4501, 1.0)] == [
        "low_risk",
        "low_risk",
        "moderate_risk",
        "moderate_risk",
        "high_risk",
        "high_risk",
    ]
