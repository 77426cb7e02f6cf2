"""The public raw files → the feature contract, on a small hand-written fixture."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fraud_detection.core.contract import NOT_EMPLOYED
from fraud_detection.core.features import INPUT_FEATURES, ONE_HOT_GROUPS, validate_frame
from fraud_detection.sources.homecredit import clean as clean_raw
from fraud_detection.sources.homecredit import load_raw, split_history_and_months

FIXTURES = Path(__file__).parents[2] / "fixtures" / "homecredit"


@pytest.fixture(scope="module")
def clean() -> pd.DataFrame:
    frame = load_raw(FIXTURES / "application_train.csv", FIXTURES / "previous_application.csv")
    return frame.set_index("SK_ID_CURR")


def test_rows_dropped_by_the_original_rules(clean: pd.DataFrame) -> None:
    # 100003: gender XNA; 100005: no AMT_ANNUITY; 100006: family status Unknown
    assert sorted(clean.index) == [100001, 100002, 100004, 100007, 100008, 100009, 100010]


def test_output_is_exactly_the_contract(clean: pd.DataFrame) -> None:
    assert list(clean.reset_index().columns) == ["SK_ID_CURR", *INPUT_FEATURES, "TARGET"]
    validate_frame(clean.reset_index())  # raises on any contract violation


def test_the_not_employed_placeholder_is_kept_as_the_service_receives_it(
    clean: pd.DataFrame,
) -> None:
    # 100004 a pensioner, 100008 unemployed: the public data's 365243 (the original's cleaning
    # put the median of the others, -1,000, in its place; requests carry 365243 itself)
    assert NOT_EMPLOYED.value == 365243
    assert clean.loc[[100004, 100008], "DAYS_EMPLOYED"].tolist() == [365243, 365243]
    assert clean.loc[[100001, 100002, 100007, 100009, 100010], "DAYS_EMPLOYED"].tolist() == [
        -1000, -400, -6000, -17912, 0,
    ]  # fmt: skip


def test_the_public_datas_extreme_values_are_kept(clean: pd.DataFrame) -> None:
    # 100009 holds the largest values of application_train.csv and previous_application.csv,
    # 100010 the smallest: every one of them inside the contract's bounds, unchanged
    largest = clean.loc[100009]
    assert largest[["CNT_CHILDREN", "AMT_INCOME_TOTAL", "AMT_CREDIT", "AMT_ANNUITY"]].tolist() == [
        19, 117_000_000, 4_050_000, 258_025.5,
    ]  # fmt: skip
    assert largest[["DAYS_BIRTH", "DAYS_REGISTRATION", "CNT_FAM_MEMBERS"]].tolist() == [
        -25_229, -24_672, 20,
    ]  # fmt: skip
    assert largest["PREV_AMT_CREDIT_max"] == 6_905_160 and largest["PREV_CNT_PAYMENT_mean"] == 84
    assert largest["PREV_DAYS_DECISION_mean"] == (-2_922 - 1) / 2
    smallest = clean.loc[100010]
    assert smallest[["AMT_INCOME_TOTAL", "AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE"]].tolist() == [
        25_650, 45_000, 1_615.5, 40_500,
    ]  # fmt: skip
    assert smallest[["DAYS_BIRTH", "DAYS_EMPLOYED", "DAYS_REGISTRATION"]].tolist() == [-7_489, 0, 0]
    assert smallest[["PREV_AMT_CREDIT_mean", "PREV_CNT_PAYMENT_mean"]].tolist() == [0, 0]
    assert smallest["PREV_DAYS_DECISION_mean"] == -1


def test_an_applicant_with_77_previous_applications_is_kept() -> None:
    # The public data's most previous applications of one applicant
    applications = pd.read_csv(FIXTURES / "application_train.csv")
    previous = pd.DataFrame({
        "SK_ID_CURR": 100001, "AMT_CREDIT": 1_000.0, "NFLAG_LAST_APPL_IN_DAY": 1,
        "NAME_CONTRACT_STATUS": "Refused", "DAYS_DECISION": -5, "NAME_CLIENT_TYPE": "Repeater",
        "CNT_PAYMENT": 12.0,
    }, index=range(77))  # fmt: skip
    row = clean_raw(applications, previous).set_index("SK_ID_CURR").loc[100001]
    assert row["PREV_NAME_CONTRACT_STATUS_Refused_sum"] == 77
    assert row["PREV_NFLAG_LAST_APPL_IN_DAY_sum"] == 77


def test_missing_family_size_becomes_the_mode(clean: pd.DataFrame) -> None:
    assert clean.loc[100007, "CNT_FAM_MEMBERS"] == 2


def test_binary_maps(clean: pd.DataFrame) -> None:
    row = clean.loc[100002]
    assert (
        row["NAME_CONTRACT_TYPE"],
        row["CODE_GENDER"],
        row["FLAG_OWN_CAR"],
        row["FLAG_OWN_REALTY"],
    ) == (1, 1, 1, 0)
    row = clean.loc[100001]
    assert (
        row["NAME_CONTRACT_TYPE"],
        row["CODE_GENDER"],
        row["FLAG_OWN_CAR"],
        row["FLAG_OWN_REALTY"],
    ) == (0, 0, 0, 1)


def _levels(row: pd.Series, prefix: str) -> list[str]:
    return [c[len(prefix) + 1 :] for c in ONE_HOT_GROUPS[prefix] if row[c] == 1]


def test_category_merges_and_dropped_baselines(clean: pd.DataFrame) -> None:
    applicant = clean.loc[
        100002
    ]  # Commercial associate, Higher education, missing occupation, Trade: type 7
    assert _levels(applicant, "NAME_INCOME_TYPE") == ["Working"]
    assert _levels(applicant, "NAME_EDUCATION_TYPE") == []  # Higher is the baseline
    assert _levels(applicant, "OCCUPATION_TYPE") == ["Unknown"]
    assert _levels(applicant, "ORGANIZATION_TYPE") == ["Trade"]
    assert _levels(applicant, "NAME_FAMILY_STATUS") == ["Single / not married"]
    assert _levels(applicant, "NAME_HOUSING_TYPE") == ["With parents"]
    applicant = clean.loc[100007]  # Civil marriage, Co-op apartment, Medicine staff, Agriculture
    assert _levels(applicant, "NAME_FAMILY_STATUS") == []
    assert _levels(applicant, "NAME_HOUSING_TYPE") == ["Stable"]
    assert _levels(applicant, "OCCUPATION_TYPE") == ["Service"]
    assert _levels(applicant, "ORGANIZATION_TYPE") == []
    assert _levels(applicant, "NAME_INCOME_TYPE") == ["Public"]
    applicant = clean.loc[
        100004
    ]  # Pensioner, Lower secondary, Municipal apartment, XNA organisation
    assert _levels(applicant, "NAME_INCOME_TYPE") == ["Retired"]
    assert _levels(applicant, "NAME_EDUCATION_TYPE") == ["Lower"]
    assert _levels(applicant, "NAME_HOUSING_TYPE") == []
    assert _levels(applicant, "ORGANIZATION_TYPE") == ["Business"]
    applicant = clean.loc[100008]  # Unemployed, IT staff, University
    assert _levels(applicant, "NAME_INCOME_TYPE") == []
    assert _levels(applicant, "OCCUPATION_TYPE") == ["White collar"]
    assert _levels(applicant, "ORGANIZATION_TYPE") == ["Health/Education"]


def test_previous_applications_are_aggregated(clean: pd.DataFrame) -> None:
    row = clean.loc[100001]
    assert row["PREV_AMT_CREDIT_mean"] == 20_000
    assert row["PREV_AMT_CREDIT_max"] == 30_000
    assert row["PREV_CNT_PAYMENT_mean"] == 18  # the missing CNT_PAYMENT is skipped
    assert row["PREV_NFLAG_LAST_APPL_IN_DAY_sum"] == 2
    assert row["PREV_DAYS_DECISION_mean"] == -200
    assert row["PREV_NAME_CONTRACT_STATUS_Approved_sum"] == 1
    assert row["PREV_NAME_CONTRACT_STATUS_Refused_sum"] == 1
    assert row["PREV_NAME_CONTRACT_STATUS_Unused offer_sum"] == 1
    assert row["PREV_NAME_CONTRACT_STATUS_Canceled_sum"] == 0
    assert row["PREV_NAME_CLIENT_TYPE_New_sum"] == 1
    assert row["PREV_NAME_CLIENT_TYPE_Repeater_sum"] == 2
    row = clean.loc[100004]
    assert (
        row["PREV_NAME_CLIENT_TYPE_XNA_sum"],
        row["PREV_NAME_CONTRACT_STATUS_Approved_sum"],
    ) == (1, 2)
    assert clean.loc[100008, "PREV_CNT_PAYMENT_mean"] == 0  # only missing payments → 0


def test_an_applicant_without_previous_applications_gets_zeros(clean: pd.DataFrame) -> None:
    previous = [c for c in INPUT_FEATURES if c.startswith("PREV_")]
    assert (clean.loc[100002, previous] == 0).all()


def test_a_missing_raw_column_is_named(tmp_path: Path) -> None:
    raw = pd.read_csv(FIXTURES / "application_train.csv").drop(columns=["AMT_ANNUITY"])
    raw.to_csv(tmp_path / "app.csv", index=False)
    with pytest.raises(ValueError, match=r"app\.csv: missing column\(s\) AMT_ANNUITY"):
        load_raw(tmp_path / "app.csv", FIXTURES / "previous_application.csv")


def test_history_and_months_split_is_deterministic_and_partitions_rows(clean: pd.DataFrame) -> None:
    frame = pd.concat(
        [
            clean.reset_index().assign(SK_ID_CURR=lambda f, k=k: f["SK_ID_CURR"] + k * 1000)
            for k in range(20)
        ],
        ignore_index=True,
    )
    history, months = split_history_and_months(frame, months=4, first_month="2025-11", seed=7)
    again, months_again = split_history_and_months(frame, months=4, first_month="2025-11", seed=7)
    assert history.equals(again) and all(months[m].equals(months_again[m]) for m in months)
    assert list(months) == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert len(history) == 98  # 70 % of 7 x 20
    ids = [*history["SK_ID_CURR"], *(i for m in months.values() for i in m["SK_ID_CURR"])]
    assert sorted(ids) == sorted(frame["SK_ID_CURR"])
