"""Seeded synthetic applications with the contract's columns, ~8 % positives and monthly drift.

Each row's true p(fraud) is returned beside the data (never as a feature) so that oracle metrics
exist. Drift: amounts inflate month by month (credit faster than income), and the fraud pattern
changes twice over a year (a "ring" of recently registered revolving-credit applicants from
month 4, replaced from month 9 by applicants with no history and a high credit-to-income ratio),
so retraining helps in some months and not in others.

Retired applicants (about 18 % of rows, as pensioners are in the public data) are recorded with
the public data's "not employed" placeholder, ``DAYS_EMPLOYED = 365243``; their short working time
still drives the true p(fraud), as it did before the placeholder was recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fraud_detection.core.contract import NOT_EMPLOYED
from fraud_detection.core.features import ID_COLUMN, INPUT_FEATURES, ONE_HOT_GROUPS, TARGET_COLUMN
from fraud_detection.sources.schedules import (
    LABEL_BIAS,
    LabelBias,
    Regime,
    fraud_rate,
    regime,
)

TRUTH_COLUMN = "P_FRAUD"
DAY = 365.25


def _pick(rng: np.random.Generator, n: int, levels: dict[str, float]) -> np.ndarray:
    names = list(levels)
    weights = np.array(list(levels.values()), dtype=float)
    return rng.choice(np.array(names, dtype=object), size=n, p=weights / weights.sum())


def _one_hot(frame: dict[str, np.ndarray], prefix: str, values: np.ndarray) -> None:
    for column in ONE_HOT_GROUPS[prefix]:
        level = column[len(prefix) + 1 :]
        frame[column] = (values == level).astype(np.int64)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    probability: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return probability


def _calibrated_intercept(score: np.ndarray, rate: float) -> float:
    """Intercept b with mean(sigmoid(score + b)) == rate (bisection; keeps ~8 % every month)."""
    low, high = -20.0, 20.0
    for _ in range(60):
        mid = (low + high) / 2
        if _sigmoid(score + mid).mean() > rate:
            high = mid
        else:
            low = mid
    return (low + high) / 2


@dataclass(frozen=True)
class _People:
    """Who the applicants are: the draws the columns and the truth are built from."""

    age_years: np.ndarray
    family: np.ndarray
    children: np.ndarray
    income_kind: np.ndarray
    education: np.ndarray
    housing: np.ndarray
    occupation: np.ndarray
    organization: np.ndarray


FAMILY = {"Married": 0.64, "Single / not married": 0.15, "Civil marriage": 0.1,
          "Separated": 0.06, "Widow": 0.05}  # fmt: skip
ORGANIZATIONS = {"Business": 0.45, "Government": 0.08, "Health/Education": 0.11,
                 "Industry": 0.12, "Services": 0.09, "Trade": 0.07, "Transport": 0.05,
                 "Agriculture": 0.03}  # fmt: skip
OCCUPATIONS = {"Blue collar": 0.38, "White collar": 0.27, "Service": 0.13, "Unknown": 0.22}


def _people(rng: np.random.Generator, n: int) -> _People:
    age_years = rng.uniform(21, 69, n)
    family = _pick(rng, n, FAMILY)
    children = np.minimum(rng.poisson(np.where(age_years < 50, 0.55, 0.15)), 6)
    income_kind = np.where(
        age_years > 60,
        _pick(rng, n, {"Retired": 0.75, "Working": 0.2, "Public": 0.05}),
        _pick(rng, n, {"Working": 0.76, "Public": 0.09, "Retired": 0.05, "Other": 0.10}),
    )
    education = _pick(rng, n, {"Secondary": 0.72, "Higher": 0.25, "Lower": 0.03})
    housing = _pick(rng, n, {"Stable": 0.89, "With parents": 0.05, "Other": 0.06})
    occupation = np.where(income_kind == "Retired", "Unknown", _pick(rng, n, OCCUPATIONS))
    organization = _pick(rng, n, ORGANIZATIONS)
    return _People(
        age_years, family, children, income_kind, education, housing, occupation, organization
    )


def _flags_and_amounts(
    rng: np.random.Generator, n: int, people: _People, month_index: int, col: dict[str, np.ndarray]
) -> None:
    """Contract type, gender, ownership, children and the amounts (inflating month by month)."""
    inflation_income = 1.004**month_index
    inflation_credit = 1.012**month_index
    col["NAME_CONTRACT_TYPE"] = (rng.random(n) < 0.1).astype(np.int64)
    col["CODE_GENDER"] = (rng.random(n) < 0.34).astype(np.int64)
    col["FLAG_OWN_CAR"] = (rng.random(n) < 0.34).astype(np.int64)
    col["FLAG_OWN_REALTY"] = (rng.random(n) < 0.69).astype(np.int64)
    col["CNT_CHILDREN"] = people.children.astype(np.int64)
    education = people.education
    education_boost = np.select([education == "Higher", education == "Lower"], [0.35, -0.3], 0.0)
    income = np.exp(rng.normal(np.log(147_000) + education_boost, 0.5, n)) * inflation_income
    income = np.round(income / 450) * 450 + 450
    ratio = np.exp(rng.normal(np.log(3.3), 0.6, n))
    credit = np.round(income * ratio * inflation_credit / inflation_income / 100) * 100 + 4500
    term_years = rng.choice([1, 2, 3, 4, 5, 10, 15, 20], size=n)
    annuity = (
        np.round(credit / (term_years * 12) * 12 * rng.uniform(0.9, 1.25, n) / 10, 1) * 10 / 12
    )
    col["AMT_INCOME_TOTAL"] = income
    col["AMT_CREDIT"] = credit
    col["AMT_ANNUITY"] = np.round(annuity * 12, 1)
    col["AMT_GOODS_PRICE"] = np.round(credit * rng.uniform(0.78, 1.0, n) / 100) * 100


def _days_and_contacts(
    rng: np.random.Generator, n: int, people: _People, col: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Days fields, family size, phones, region → (years employed, years since registration)."""
    age_years, retired = people.age_years, people.income_kind == "Retired"
    employed_years = np.minimum(rng.exponential(6.0, n), age_years - 18)
    employed_years = np.where(retired, rng.uniform(0, 0.5, n), employed_years)
    registration_years = np.minimum(rng.exponential(9.0, n), age_years - 18)
    col["DAYS_BIRTH"] = -np.round(age_years * DAY).astype(np.int64)
    # The public data records no employment as its placeholder (pensioners: 18 % of applicants);
    # employed_years stays the truth behind p(fraud), so the labels are those drawn before.
    col["DAYS_EMPLOYED"] = np.where(
        retired, NOT_EMPLOYED.value, -np.round(employed_years * DAY)
    ).astype(np.int64)
    col["DAYS_REGISTRATION"] = -np.round(registration_years * DAY).astype(np.int64)
    married = np.isin(people.family, ["Married", "Civil marriage"])
    col["CNT_FAM_MEMBERS"] = (1 + married + people.children).astype(np.int64)
    col["FLAG_EMP_PHONE"] = (~retired & (rng.random(n) < 0.98)).astype(np.int64)
    col["FLAG_WORK_PHONE"] = (rng.random(n) < 0.2).astype(np.int64)
    col["FLAG_CONT_MOBILE"] = (rng.random(n) < 0.998).astype(np.int64)
    col["FLAG_EMAIL"] = (rng.random(n) < 0.057).astype(np.int64)
    rating = rng.choice([1, 2, 3], size=n, p=[0.1, 0.74, 0.16])
    col["REGION_RATING_CLIENT"] = rating.astype(np.int64)
    col["REG_REGION_NOT_LIVE_REGION"] = (rng.random(n) < 0.015).astype(np.int64)
    return employed_years, registration_years


def _previous(rng: np.random.Generator, n: int, col: dict[str, np.ndarray]) -> np.ndarray:
    """The previous applications' aggregates → how many previous applications each has."""
    n_prev = np.where(rng.random(n) < 0.06, 0, 1 + rng.poisson(3.5, n))
    has_prev = n_prev > 0
    status = rng.multinomial(n_prev, [0.62, 0.17, 0.19, 0.02])
    client = rng.multinomial(n_prev, [0.18, 0.74, 0.079, 0.001])
    prev_mean = np.where(has_prev, np.round(np.exp(rng.normal(np.log(150_000), 0.8, n)), 1), 0.0)
    col["PREV_AMT_CREDIT_mean"] = prev_mean
    col["PREV_AMT_CREDIT_max"] = np.round(
        prev_mean * np.where(n_prev > 1, rng.uniform(1, 3, n), 1), 1
    )
    col["PREV_CNT_PAYMENT_mean"] = np.where(has_prev, np.round(rng.uniform(6, 36, n), 2), 0.0)
    col["PREV_NFLAG_LAST_APPL_IN_DAY_sum"] = (n_prev - rng.binomial(n_prev, 0.004)).astype(np.int64)
    col["PREV_DAYS_DECISION_mean"] = np.where(has_prev, -np.round(rng.uniform(30, 2500, n), 2), 0.0)
    for i, name in enumerate(["Approved", "Refused", "Canceled", "Unused offer"]):
        col[f"PREV_NAME_CONTRACT_STATUS_{name}_sum"] = status[:, i].astype(np.int64)
    for i, name in enumerate(["Repeater", "New", "Refreshed", "XNA"]):
        col[f"PREV_NAME_CLIENT_TYPE_{name}_sum"] = client[:, [1, 0, 2, 3][i]].astype(np.int64)
    return n_prev


def _fraud_score(
    people: _People,
    col: dict[str, np.ndarray],
    years: tuple[np.ndarray, np.ndarray],
    n_prev: np.ndarray,
    current: Regime,
) -> np.ndarray:
    """The log-odds of fraud before calibration: the stable signs and the month's pattern."""
    employed_years, registration_years = years
    education, occupation = people.education, people.occupation
    credit, goods = col["AMT_CREDIT"], col["AMT_GOODS_PRICE"]
    credit_to_income = credit / col["AMT_INCOME_TOTAL"]
    refused = np.minimum(col["PREV_NAME_CONTRACT_STATUS_Refused_sum"], 5)
    approved = np.minimum(col["PREV_NAME_CONTRACT_STATUS_Approved_sum"], 5)
    score = (
        0.9 * (40 - people.age_years) / 12
        + 0.6 * np.exp(-employed_years / 3)
        + np.select([education == "Secondary", education == "Lower"], [0.45, 0.8], 0.0)
        + 0.45 * (col["REGION_RATING_CLIENT"] - 2)
        + 0.3 * col["CODE_GENDER"]
        - 0.25 * col["FLAG_OWN_CAR"]
        + 0.35 * np.log(credit_to_income)
        + 0.4 * (goods / credit < 0.88)
        + 0.25 * refused
        - 0.1 * approved
        + np.select([occupation == "Blue collar", occupation == "White collar"], [0.3, -0.3], 0.0)
        + 0.5 * col["REG_REGION_NOT_LIVE_REGION"]
        + 0.3 * np.exp(-registration_years / 2)
    )
    ring = (registration_years < 1.5) & (col["NAME_CONTRACT_TYPE"] == 1)
    score = score + current.ring_recent_revolving * ring
    no_history = (n_prev == 0) | (col["PREV_NAME_CLIENT_TYPE_New_sum"] == n_prev)
    pattern: np.ndarray = current.ring_no_history_high_ratio * (no_history & (credit_to_income > 4))
    return np.asarray(score + pattern)


def _biased_against_pensioners(
    target: np.ndarray, col: dict[str, np.ndarray], bias: LabelBias, seed: int
) -> np.ndarray:
    """Labels after a campaign aimed at pensioners (its own draws: other columns unchanged)."""
    draws = np.random.default_rng([seed, bias.month_index, 28]).random(len(target))
    pensioner = col["DAYS_EMPLOYED"] == NOT_EMPLOYED.value
    accused = pensioner & (target == 0) & (draws < bias.share_of_innocent)
    return np.where(accused, 1, target).astype(np.int64)


def generate(
    n: int, *, month_index: int, seed: int, id_start: int = 100_000, schedule: str = "default"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` labelled applications for month ``month_index`` → (contract frame, truth frame)."""
    rng = np.random.default_rng([seed, month_index])
    col: dict[str, np.ndarray] = {}
    people = _people(rng, n)
    _flags_and_amounts(rng, n, people, month_index, col)
    years = _days_and_contacts(rng, n, people, col)
    n_prev = _previous(rng, n, col)
    for group, values in (
        ("NAME_FAMILY_STATUS", people.family),
        ("NAME_INCOME_TYPE", people.income_kind),
        ("NAME_EDUCATION_TYPE", people.education),
        ("NAME_HOUSING_TYPE", people.housing),
        ("OCCUPATION_TYPE", people.occupation),
        ("ORGANIZATION_TYPE", people.organization),
    ):
        _one_hot(col, group, values)
    score = _fraud_score(people, col, years, n_prev, regime(month_index, schedule))
    p_fraud = _sigmoid(score + _calibrated_intercept(score, fraud_rate(month_index, schedule)))
    target = (rng.random(n) < p_fraud).astype(np.int64)
    bias = LABEL_BIAS.get(schedule)
    if bias is not None and bias.month_index == month_index:
        target = _biased_against_pensioners(target, col, bias, seed)
    ids = np.arange(id_start, id_start + n, dtype=np.int64)
    frame = pd.DataFrame(
        {ID_COLUMN: ids, **{c: col[c] for c in INPUT_FEATURES}, TARGET_COLUMN: target}
    )
    truth = pd.DataFrame({ID_COLUMN: ids, TRUTH_COLUMN: p_fraud})
    return frame, truth


def month_labels(first_month: str, count: int) -> list[str]:
    start = pd.Period(first_month, freq="M")
    return [str(start + i) for i in range(count)]


@dataclass(frozen=True)
class Partition:
    """One generated partition (the base or a month) with the true p(fraud) of its rows."""

    name: str  # "base" or "YYYY-MM"
    frame: pd.DataFrame
    truth: pd.DataFrame


def generate_lake_partitions(
    *,
    seed: int,
    months: int = 12,
    rows_per_month: int = 7_680,
    base_rows: int = 60_000,
    first_month: str = "2025-01",
    schedule: str = "default",
) -> Iterator[Partition]:
    """Base history (month index 0) then ``months`` monthly partitions, ids unique across all."""
    frame, truth = generate(
        base_rows, month_index=0, seed=seed, id_start=100_000, schedule=schedule
    )
    yield Partition("base", frame, truth)
    for index, label in enumerate(month_labels(first_month, months), start=1):
        frame, truth = generate(
            rows_per_month,
            month_index=index,
            seed=seed,
            id_start=100_000 + index * 10_000_000,
            schedule=schedule,
        )
        yield Partition(label, frame, truth)
