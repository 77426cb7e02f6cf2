"""The feature contract as one table (docs/contract.md is generated from it): every column with its kind, its domain
bounds, its one-hot group, both of its spellings and what it means.

Month validation and request validation (``features.py``), the OpenAPI schema of the service and
the README's field table are all derived from :data:`INPUTS`, so they cannot drift apart.
Bounds come from what the raw data means (the original's cleaning, ``sources/homecredit.py``): day counts are days before the
application (≤ 0), counts are whole and ≥ 0, flags are 0 or 1, application amounts are positive
currency amounts; upper bounds are far above anything the raw data holds but keep every value,
and the derived credit-to-income ratio, finite in the model's float32 input. A bound refuses only
what no application can hold, never what is merely rare: each one is checked below against the
range of the public Home Credit files (``application_train.csv``, 307,511 applications, and
``previous_application.csv``, 1,670,214 previous applications), as published.

A column may also have a documented placeholder: a value outside its bounds that the public data
uses for "no value" (``DAYS_EMPLOYED = 365243``: not employed, about 18 % of applicants). It is
accepted wherever the column is checked and reaches the model as it is, as in the original.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["flag", "count", "rating", "amount", "days", "number"]

# Bounds shared by several columns.
MAX_AMOUNT = 1e9  # currency units; the public data's largest amount is 1.17e8 (an income)
MAX_COUNT = 1_000  # previous applications of one applicant (public data: at most 77)
MAX_DAYS = 43_830  # 120 years: no one has lived, worked or been registered longer
MIN_AGE_DAYS = 5_114  # 14 years: younger than anyone who may sign a credit (public data: 20.5)
# The largest whole number a float64 (and a JSON parser in a browser) holds exactly.
MAX_ID = 2**53 - 1


def underscore_name(name: str) -> str:
    """The original's underscore variant: ``Single / not married`` → ``Single_not_married``."""
    return re.sub(r"[^0-9A-Za-z_]+", "_", name)


@dataclass(frozen=True)
class Placeholder:
    """A value outside a column's bounds that the source data documents as "no value"."""

    value: int
    meaning: str


# The public data's DAYS_EMPLOYED for applicants with no employment (pensioners, the unemployed).
NOT_EMPLOYED = Placeholder(365_243, "not employed")


@dataclass(frozen=True)
class Column:
    """One input column of the contract; bounds are inclusive."""

    name: str
    kind: Kind
    minimum: float
    maximum: float
    meaning: str
    label: str  # a few words an analyst reads beside the value (reason codes, reports)
    group: str | None = None  # one-hot group (at most one level set; all zero = dropped level)
    placeholder: Placeholder | None = None  # accepted besides the bounds, passed on unchanged

    @property
    def alias(self) -> str | None:
        """The underscore spelling clients may send instead, if it differs."""
        other = underscore_name(self.name)
        return other if other != self.name else None

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name,) if self.alias is None else (self.name, self.alias)

    @property
    def integer(self) -> bool:
        return self.kind in ("flag", "count", "rating")

    @property
    def rule(self) -> str:
        """The domain in words, as an error message states it."""
        if self.kind == "flag":
            return "flag must be 0 or 1"
        if self.kind == "rating":
            return "must be 1, 2 or 3"
        low, high = _number(self.minimum), _number(self.maximum)
        if self.integer:
            rule = f"must be a whole number from {low} to {high}"
        elif self.minimum > 0:
            rule = f"must be greater than 0 (from {low} to {high})"
        else:
            rule = f"must be from {low} to {high}"
        if self.placeholder is not None:
            rule += f", or {self.placeholder.value} ({self.placeholder.meaning})"
        return rule


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _flag(name: str, label: str, meaning: str, group: str | None = None) -> Column:
    return Column(name, "flag", 0, 1, meaning, label, group)


def _count(
    name: str, label: str, meaning: str, maximum: float = MAX_COUNT, minimum: float = 0
) -> Column:
    return Column(name, "count", minimum, maximum, meaning, label)


def _amount(name: str, label: str, meaning: str) -> Column:
    return Column(name, "amount", 1, MAX_AMOUNT, meaning, label)


def _days(
    name: str,
    label: str,
    meaning: str,
    maximum: float = 0,
    placeholder: Placeholder | None = None,
) -> Column:
    if placeholder is not None:
        meaning = f"{meaning} ({placeholder.value}: {placeholder.meaning})"
    return Column(name, "days", -MAX_DAYS, maximum, meaning, label, placeholder=placeholder)


def _levels(group: str, label: str, meaning: str, *levels: str) -> list[Column]:
    return [
        _flag(f"{group}_{level}", f"{label}: {level.lower()}", f"{meaning}: {level}", group)
        for level in levels
    ]


_PREV = "previous applications"

# Where each bound comes from. "Public data" is the range of the published Home Credit files
# (application_train.csv; previous_application.csv aggregated per applicant as in
# sources/homecredit.py, where an applicant has at most 77 previous applications), as the dataset
# is documented and widely profiled (the files are not in this repository; the fixtures under
# tests/fixtures/homecredit hold these extremes); the bound keeps every one of those values and
# refuses only what no application can hold.
INPUTS: tuple[Column, ...] = (
    # Binary maps of two-valued raw columns (gender XNA is dropped by the cleaning).
    _flag("NAME_CONTRACT_TYPE", "revolving loan", "contract type: 0 cash loan, 1 revolving loan"),
    _flag("CODE_GENDER", "male applicant", "gender: 0 female, 1 male"),
    _flag("FLAG_OWN_CAR", "owns a car", "owns a car"),
    _flag("FLAG_OWN_REALTY", "owns a home", "owns a house or flat"),
    # Public data 0 … 19; 30 keeps every family of the data with room to spare.
    _count("CNT_CHILDREN", "children", "number of children", maximum=30),
    # Amounts > 0 (the ratio divides by the income), ≤ MAX_AMOUNT. Public data: income
    # 25,650 … 1.17e8, credit 45,000 … 4.05e6, annuity 1,615.5 … 258,025.5, goods price
    # 40,500 … 4.05e6 (rows missing an annuity or goods price are dropped by the cleaning).
    _amount("AMT_INCOME_TOTAL", "annual income", "annual income"),
    _amount("AMT_CREDIT", "credit amount", "credit amount of the application"),
    _amount("AMT_ANNUITY", "annuity", "annuity of the credit"),
    _amount("AMT_GOODS_PRICE", "price of the goods", "price of the goods the credit is for"),
    # Public data -25,229 … -7,489 (69 to 20.5 years).
    _days("DAYS_BIRTH", "age (days)",
          "age in days before the application (14 to 120 years)", -MIN_AGE_DAYS),
    # Public data -17,912 … 0 (49 years), and 365243 for 55,374 applicants (18.0 %: nearly every
    # pensioner and the unemployed), the placeholder the data documents for "not employed".
    _days("DAYS_EMPLOYED", "time employed (days)",
          "days employed before the application", placeholder=NOT_EMPLOYED),
    # Public data -24,672 … 0.
    _days("DAYS_REGISTRATION", "time since registration changed (days)",
          "days since the applicant's registration changed"),
    # Public data 1 … 20 (2 missing, filled with the mode); children + adults, so 30 + 10.
    _count("CNT_FAM_MEMBERS", "family size",
           "family members, the applicant included", maximum=40, minimum=1),
    # Flags 0/1 and the rating 1/2/3 in the public data, as their meaning allows.
    _flag("FLAG_EMP_PHONE", "gave an employer's phone", "gave an employer's phone"),
    _flag("FLAG_WORK_PHONE", "gave a work phone", "gave a work phone"),
    _flag("FLAG_CONT_MOBILE", "mobile reachable", "mobile phone reachable"),
    _flag("FLAG_EMAIL", "gave an e-mail", "gave an e-mail address"),
    Column("REGION_RATING_CLIENT", "rating", 1, 3, "rating of the applicant's region: 1, 2 or 3",
           "region rating"),
    _flag("REG_REGION_NOT_LIVE_REGION", "address regions differ",
          "permanent address differs from the contact address"),
    # Previous applications, 0 where an applicant has none. Public data: credit 0 … 6.9e6 (a
    # refused or canceled application may carry 0), so mean and max 0 … 6.9e6.
    Column("PREV_AMT_CREDIT_mean", "number", 0, MAX_AMOUNT, f"mean credit of {_PREV} (0: none)",
           "mean previous credit"),
    Column("PREV_AMT_CREDIT_max", "number", 0, MAX_AMOUNT, f"largest credit of {_PREV} (0: none)",
           "largest previous credit"),
    # Public data 0 … 84 payments (missing ones are left out of the mean); 600 = 50 years monthly.
    Column("PREV_CNT_PAYMENT_mean", "number", 0, 600, f"mean number of payments of {_PREV}",
           "mean payments of previous credits"),
    # A 0/1 flag per previous application, summed: public data 0 … 77.
    _count("PREV_NFLAG_LAST_APPL_IN_DAY_sum", "previous last-of-day applications",
           f"{_PREV} that were the last of their day"),
    # Public data -2,922 … -1 (every decision precedes the application; 0 is "none").
    _days("PREV_DAYS_DECISION_mean", "time since previous decisions (days)",
          f"mean days since the decision on {_PREV} (0: none)"),
    # Counts of previous applications by status and client type: public data 0 … 77 each.
    _count("PREV_NAME_CONTRACT_STATUS_Approved_sum", "previous approvals", f"{_PREV} approved"),
    _count("PREV_NAME_CONTRACT_STATUS_Refused_sum", "previous refusals", f"{_PREV} refused"),
    _count("PREV_NAME_CONTRACT_STATUS_Canceled_sum", "previous cancellations", f"{_PREV} canceled"),
    _count("PREV_NAME_CONTRACT_STATUS_Unused offer_sum", "previous unused offers",
           f"{_PREV} with an unused offer"),
    _count("PREV_NAME_CLIENT_TYPE_New_sum", "previous applications as a new client",
           f"{_PREV} as a new client"),
    _count("PREV_NAME_CLIENT_TYPE_Repeater_sum", "previous applications as a repeat client",
           f"{_PREV} as a repeat client"),
    _count("PREV_NAME_CLIENT_TYPE_Refreshed_sum", "previous applications as a refreshed client",
           f"{_PREV} as a refreshed client"),
    _count("PREV_NAME_CLIENT_TYPE_XNA_sum", "previous applications of unknown client type",
           f"{_PREV} with an unknown client type"),
    # One-hot levels of the merged raw categories (the original's cleaning, ``sources/homecredit.py``), first level dropped.
    *_levels("NAME_FAMILY_STATUS", "family status", "family status (none set: civil marriage)",
             "Married", "Separated", "Single / not married", "Widow"),
    *_levels("NAME_INCOME_TYPE", "income type",
             "income type (none set: other)", "Public", "Retired", "Working"),
    *_levels("NAME_EDUCATION_TYPE", "education",
             "education (none set: higher)", "Lower", "Secondary"),
    *_levels("NAME_HOUSING_TYPE", "housing", "housing (none set: other)", "Stable", "With parents"),
    *_levels("OCCUPATION_TYPE", "occupation", "occupation (none set: blue collar)",
             "Service", "Unknown", "White collar"),
    *_levels("ORGANIZATION_TYPE", "organisation",
             "organisation (none set: agriculture)", "Business",
             "Government", "Health/Education", "Industry", "Services", "Trade", "Transport"),
)  # fmt: skip

ID_COLUMN = "SK_ID_CURR"
TARGET_COLUMN = "TARGET"
DERIVED_COLUMN = "CREDIT_TO_INCOME"
DERIVED_MEANING = "AMT_CREDIT / AMT_INCOME_TOTAL, computed by the service (a value sent is ignored)"
DERIVED_LABEL = "credit-to-income ratio"
ID_MEANING = "application id (a whole number ≥ 0; optional in a request)"
TARGET_MEANING = "label in training data: 1 fraud, 0 not (ignored in a request)"

BY_NAME: dict[str, Column] = {c.name: c for c in INPUTS}
# Every accepted spelling of an input column → its column.
BY_SPELLING: dict[str, Column] = {s: c for c in INPUTS for s in c.spellings}
GROUPS: dict[str, tuple[Column, ...]] = {}
for _column in INPUTS:
    if _column.group is not None:
        GROUPS.setdefault(_column.group, ())
        GROUPS[_column.group] += (_column,)

assert len(INPUTS) == 53 and len(BY_SPELLING) == 58
# A placeholder is a value the bounds refuse (otherwise it would need no mention).
assert all(
    not c.minimum <= c.placeholder.value <= c.maximum for c in INPUTS if c.placeholder is not None
)


def field_table() -> str:
    """The README's table of a record's fields, in contract order."""
    lines = [
        "| # | field (underscore spelling) | kind | allowed values | meaning |",
        "|---:|---|---|---|---|",
        f"| | `{ID_COLUMN}` | id | whole number ≥ 0 | {ID_MEANING} |",
    ]
    for i, column in enumerate(INPUTS, start=1):
        name = f"`{column.name}`" + (f" (`{column.alias}`)" if column.alias else "")
        allowed = column.rule.removeprefix("flag ").removeprefix("must be ")
        group = f"; one-hot group `{column.group}`" if column.group else ""
        lines.append(f"| {i} | {name} | {column.kind} | {allowed} | {column.meaning}{group} |")
    lines.append(f"| 54 | `{DERIVED_COLUMN}` | derived | | {DERIVED_MEANING} |")
    lines.append(f"| | `{TARGET_COLUMN}` | label | 0 or 1 | {TARGET_MEANING} |")
    return "\n".join(lines)
