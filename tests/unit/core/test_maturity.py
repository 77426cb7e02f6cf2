"""An immature month: labels too young, or a fraud rate the matured months make unlikely;
an honest drift of the fraud rate is not held."""

from __future__ import annotations

from datetime import date

from fraud_detection.core.maturity import (
    MaturityRule,
    MonthLabels,
    label_age_days,
    likely_floor,
    maturity_holds,
)

RULE = MaturityRule(maturity_days=60, confidence=0.99, spread=0.15)
MATURED = [0.050, 0.046, 0.054, 0.049, 0.052, 0.047]  # recent matured months' fraud rates


def test_label_age_from_the_month_end() -> None:
    assert label_age_days("2025-02", date(2025, 3, 30)) == 30
    assert label_age_days("2024-12", date(2024, 12, 31)) == 0


def test_labels_taken_too_soon_hold_the_month() -> None:
    young = MonthLabels("2025-03", 7_680, 380, date(2025, 4, 20))
    (hold,) = maturity_holds(young, MATURED, RULE)
    assert hold.check == "maturity" and "20 days" in hold.reason and "60" in hold.reason
    mature = MonthLabels("2025-03", 7_680, 380, date(2025, 6, 1))
    assert maturity_holds(mature, MATURED, RULE) == []


def test_half_the_frauds_missing_is_held_without_a_date() -> None:
    half = MonthLabels("2025-03", 7_680, 190, None)  # 2.5 % where 5 % was usual
    (hold,) = maturity_holds(half, MATURED, RULE)
    assert "2.47%" in hold.reason and "6 recent matured months" in hold.reason


def test_an_honest_drift_of_the_fraud_rate_is_not_held() -> None:
    for rate in (0.038, 0.045, 0.08):  # down by a quarter, or up: a moving fraud rate
        month = MonthLabels("2025-03", 7_680, round(rate * 7_680), None)
        assert maturity_holds(month, MATURED, RULE) == []


def test_nothing_to_judge_against_without_two_matured_months() -> None:
    assert likely_floor([0.05], 100, RULE) is None
    assert maturity_holds(MonthLabels("2025-03", 7_680, 10, None), [0.05], RULE) == []
