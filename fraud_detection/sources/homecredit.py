"""The public raw files (``application_train.csv`` + ``previous_application.csv``) → the feature
contract, with the original system's cleaning (kept in this module) but one step: the
``DAYS_EMPLOYED`` placeholder 365243 ("not employed") is kept, not replaced by the median, because
the service receives and scores it as it is (the original API did too): a model trained on the
median would meet the placeholder only in requests, where its splits never saw it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fraud_detection.core.features import (
    ID_COLUMN,
    INPUT_FEATURES,
    ONE_HOT_GROUPS,
    TARGET_COLUMN,
    validate_frame,
)

APPLICATION_COLUMNS = (
    "SK_ID_CURR", "TARGET", "NAME_CONTRACT_TYPE", "CODE_GENDER", "FLAG_OWN_CAR", "FLAG_OWN_REALTY",
    "CNT_CHILDREN", "AMT_INCOME_TOTAL", "AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE",
    "NAME_INCOME_TYPE", "NAME_EDUCATION_TYPE", "NAME_FAMILY_STATUS", "NAME_HOUSING_TYPE",
    "DAYS_BIRTH", "DAYS_EMPLOYED", "DAYS_REGISTRATION", "OCCUPATION_TYPE", "CNT_FAM_MEMBERS",
    "FLAG_EMP_PHONE", "FLAG_WORK_PHONE", "FLAG_CONT_MOBILE", "FLAG_EMAIL", "REGION_RATING_CLIENT",
    "REG_REGION_NOT_LIVE_REGION", "ORGANIZATION_TYPE",
)  # fmt: skip
PREVIOUS_COLUMNS = ("SK_ID_CURR", "AMT_CREDIT", "NFLAG_LAST_APPL_IN_DAY", "NAME_CONTRACT_STATUS",
                    "DAYS_DECISION", "NAME_CLIENT_TYPE", "CNT_PAYMENT")  # fmt: skip
INCOME_TYPES = {"Working": "Working", "Commercial associate": "Working", "Pensioner": "Retired",
                "State servant": "Public", "Unemployed": "Other", "Student": "Other",
                "Businessman": "Other", "Maternity leave": "Other"}  # fmt: skip
EDUCATION = {"Secondary / secondary special": "Secondary", "Incomplete higher": "Secondary",
             "Higher education": "Higher", "Academic degree": "Higher",
             "Lower secondary": "Lower"}  # fmt: skip
HOUSING = {"House / apartment": "Stable", "Co-op apartment": "Stable", "With parents": "With parents",
           "Municipal apartment": "Other", "Rented apartment": "Other", "Office apartment": "Other"}  # fmt: skip
OCCUPATIONS = {
    **dict.fromkeys(["Managers", "Core staff", "High skill tech staff", "Accountants", "HR staff",
                     "IT staff"], "White collar"),
    **dict.fromkeys(["Sales staff", "Medicine staff", "Private service staff", "Secretaries",
                     "Waiters/barmen staff"], "Service"),
    **dict.fromkeys(["Laborers", "Drivers", "Cleaning staff", "Cooking staff", "Low-skill Laborers",
                     "Security staff", "Realty agents"], "Blue collar"),
}  # fmt: skip


def organization_group(value: str) -> str:
    """Merge the raw organisation types; 'Agriculture' stays the dropped baseline level."""
    if value.startswith("Business Entity") or value in ("Self-employed", "Other", "XNA"):
        return "Business"
    if value in ("Government", "Police", "Military", "Security Ministries", "Postal"):
        return "Government"
    if value in ("Medicine", "Kindergarten", "School", "University"):
        return "Health/Education"
    if value.startswith("Trade"):
        return "Trade"
    if value.startswith("Industry") or value == "Construction":
        return "Industry"
    if value.startswith("Transport"):
        return "Transport"
    if value == "Agriculture":
        return "Agriculture"
    return "Services"


def occupation_group(value: object) -> str:
    """Missing → Unknown; listed occupations → their group; anything else → Blue collar."""
    if not isinstance(value, str) or not value:
        return "Unknown"
    return OCCUPATIONS.get(value, "Blue collar")


def _read(path: str | Path, columns: tuple[str, ...]) -> pd.DataFrame:
    header = pd.read_csv(path, nrows=0).columns
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    return pd.read_csv(path, usecols=list(columns))


def load_raw(application_csv: str | Path, previous_csv: str | Path) -> pd.DataFrame:
    """Read both raw files (only the needed columns) and clean them into the contract."""
    applications = _read(application_csv, APPLICATION_COLUMNS)
    previous = _read(previous_csv, PREVIOUS_COLUMNS)
    return clean(applications, previous, source=str(application_csv))


def aggregate_previous(previous: pd.DataFrame) -> pd.DataFrame:
    """Per applicant: credit mean/max, payments mean, last-in-day sum, decision mean, status/type counts."""
    dummies = pd.get_dummies(previous[["NAME_CONTRACT_STATUS", "NAME_CLIENT_TYPE"]], dtype=int)
    frame = pd.concat([previous[[ID_COLUMN, "AMT_CREDIT", "CNT_PAYMENT", "NFLAG_LAST_APPL_IN_DAY",
                                 "DAYS_DECISION"]], dummies], axis=1)  # fmt: skip
    grouped = frame.groupby(ID_COLUMN)
    aggregated = pd.DataFrame({
        "PREV_AMT_CREDIT_mean": grouped["AMT_CREDIT"].mean(),
        "PREV_AMT_CREDIT_max": grouped["AMT_CREDIT"].max(),
        "PREV_CNT_PAYMENT_mean": grouped["CNT_PAYMENT"].mean(),
        "PREV_NFLAG_LAST_APPL_IN_DAY_sum": grouped["NFLAG_LAST_APPL_IN_DAY"].sum(),
        "PREV_DAYS_DECISION_mean": grouped["DAYS_DECISION"].mean(),
    })  # fmt: skip
    for column in dummies.columns:
        aggregated[f"PREV_{column}_sum"] = grouped[column].sum()
    return aggregated.reset_index()


def clean(
    applications: pd.DataFrame, previous: pd.DataFrame, *, source: str = "raw applications"
) -> pd.DataFrame:
    """The original's cleaning (the DAYS_EMPLOYED placeholder kept, see the module's docstring);
    returns SK_ID_CURR, the 53 input features, TARGET (validated)."""
    app = applications.copy()
    app = app[app["CODE_GENDER"] != "XNA"]
    app = app.dropna(subset=["AMT_ANNUITY", "AMT_GOODS_PRICE"])
    app = app[app["NAME_FAMILY_STATUS"] != "Unknown"]
    if app["CNT_FAM_MEMBERS"].isna().any():
        app["CNT_FAM_MEMBERS"] = app["CNT_FAM_MEMBERS"].fillna(
            app["CNT_FAM_MEMBERS"].mode().iloc[0]
        )

    out = app[[ID_COLUMN, TARGET_COLUMN, "CNT_CHILDREN", "AMT_INCOME_TOTAL", "AMT_CREDIT",
               "AMT_ANNUITY", "AMT_GOODS_PRICE", "DAYS_BIRTH", "DAYS_EMPLOYED", "DAYS_REGISTRATION",
               "CNT_FAM_MEMBERS", "FLAG_EMP_PHONE", "FLAG_WORK_PHONE", "FLAG_CONT_MOBILE",
               "FLAG_EMAIL", "REGION_RATING_CLIENT", "REG_REGION_NOT_LIVE_REGION"]].copy()  # fmt: skip
    out["NAME_CONTRACT_TYPE"] = (app["NAME_CONTRACT_TYPE"] == "Revolving loans").astype(int)
    out["CODE_GENDER"] = (app["CODE_GENDER"] == "M").astype(int)
    out["FLAG_OWN_CAR"] = (app["FLAG_OWN_CAR"] == "Y").astype(int)
    out["FLAG_OWN_REALTY"] = (app["FLAG_OWN_REALTY"] == "Y").astype(int)
    groups = {
        "NAME_FAMILY_STATUS": app["NAME_FAMILY_STATUS"],
        "NAME_INCOME_TYPE": app["NAME_INCOME_TYPE"].map(INCOME_TYPES).fillna("Other"),
        "NAME_EDUCATION_TYPE": app["NAME_EDUCATION_TYPE"].map(EDUCATION).fillna("Higher"),
        "NAME_HOUSING_TYPE": app["NAME_HOUSING_TYPE"].map(HOUSING).fillna("Other"),
        "OCCUPATION_TYPE": app["OCCUPATION_TYPE"].map(occupation_group),
        "ORGANIZATION_TYPE": app["ORGANIZATION_TYPE"].astype(str).map(organization_group),
    }
    for prefix, values in groups.items():
        # Exactly the contract's levels; the dropped baseline level is "all zeros".
        for column in ONE_HOT_GROUPS[prefix]:
            out[column] = (values == column[len(prefix) + 1 :]).astype(int)

    aggregated = aggregate_previous(previous)
    out = out.merge(aggregated, on=ID_COLUMN, how="left")
    for column in INPUT_FEATURES:
        if column.startswith("PREV_"):
            out[column] = out[column].fillna(0) if column in out else 0
    out = out[[ID_COLUMN, *INPUT_FEATURES, TARGET_COLUMN]]
    validated = validate_frame(out, source=source)
    return validated.drop(columns=["CREDIT_TO_INCOME"])


def split_history_and_months(
    frame: pd.DataFrame,
    *,
    seed: int,
    history_fraction: float = 0.7,
    months: int = 12,
    first_month: str = "2025-01",
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """A seeded shuffle: history first, the rest in ``months`` near-equal monthly partitions."""
    shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    cut = round(len(shuffled) * history_fraction)
    history = shuffled.iloc[:cut].sort_values(ID_COLUMN).reset_index(drop=True)
    start = pd.Period(first_month, freq="M")
    chunks = np.array_split(np.arange(cut, len(shuffled)), months)
    monthly = {
        str(start + i): shuffled.iloc[index].sort_values(ID_COLUMN).reset_index(drop=True)
        for i, index in enumerate(chunks)
    }
    return history, monthly
