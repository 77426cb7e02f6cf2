"""Request records as clients send them: the original's example and synthetic applications."""

from __future__ import annotations

from typing import Any

import pandas as pd

from fraud_detection.core.features import INPUT_FEATURES, request_records, underscore_name
from fraud_detection.sources.synthetic import generate

# The original's own example record (the README of the original API); the columns it elides are set here.
EXAMPLE = {
    "SK_ID_CURR": 212200,
    "TARGET": 0,
    "NAME_CONTRACT_TYPE": 1,
    "CODE_GENDER": 0,
    "FLAG_OWN_CAR": 0,
    "FLAG_OWN_REALTY": 1,
    "CNT_CHILDREN": 0,
    "AMT_INCOME_TOTAL": 122850,
    "AMT_CREDIT": 270000,
    "AMT_ANNUITY": 13500,
    "AMT_GOODS_PRICE": 270000,
    "DAYS_BIRTH": -21078,
    "DAYS_EMPLOYED": -13168,
    "DAYS_REGISTRATION": -1162,
    "CNT_FAM_MEMBERS": 1,
    "FLAG_EMP_PHONE": 1,
    "FLAG_WORK_PHONE": 0,
    "FLAG_CONT_MOBILE": 1,
    "FLAG_EMAIL": 0,
    "REGION_RATING_CLIENT": 2,
    "REG_REGION_NOT_LIVE_REGION": 0,
    "PREV_AMT_CREDIT_mean": 63758,
    "PREV_AMT_CREDIT_max": 254340,
    "PREV_CNT_PAYMENT_mean": 18,
    "PREV_NFLAG_LAST_APPL_IN_DAY_sum": 7,
}
EXAMPLE.update({c: 0 for c in INPUT_FEATURES if c not in EXAMPLE})
EXAMPLE.update(
    {
        "PREV_NAME_CONTRACT_STATUS_Approved_sum": 5,
        "PREV_NAME_CONTRACT_STATUS_Refused_sum": 2,
        "PREV_NAME_CLIENT_TYPE_Repeater_sum": 6,
        "PREV_NAME_CLIENT_TYPE_New_sum": 1,
        "PREV_DAYS_DECISION_mean": -700.5,
        "NAME_FAMILY_STATUS_Widow": 1,
        "NAME_INCOME_TYPE_Retired": 1,
        "NAME_EDUCATION_TYPE_Secondary": 1,
        "NAME_HOUSING_TYPE_Stable": 1,
        "OCCUPATION_TYPE_Unknown": 1,
        "ORGANIZATION_TYPE_Business": 1,
    }
)


def client_records(
    count: int, *, seed: int, id_start: int, underscore_half: bool = True
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """``count`` synthetic applications (month 3) as a frame and as JSON records; with
    ``underscore_half`` every other record uses the original's underscore spellings."""
    frame, _ = generate(count, month_index=3, seed=seed, id_start=id_start)
    records = request_records(frame)
    for record in records[::2] if underscore_half else []:
        for name in [c for c in record if underscore_name(c) != c]:
            record[underscore_name(name)] = record.pop(name)
    return frame, records
