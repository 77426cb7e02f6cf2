"""A hold turns a promotion by rule into a held month, and never touches any other verdict."""

from __future__ import annotations

import pytest

from fraud_detection.core.gate import Decision
from fraud_detection.core.holds import Hold, held_or
from fraud_detection.core.tags import DECIDED, Verdict

GROUPS = Hold("groups", "Pensioners would be flagged 2.1 times as often (limit 1.5).")
CAPACITY = Hold("capacity", "It would flag 14 % of recent traffic instead of 8 %.")


def test_a_promotion_with_a_hold_is_held_and_names_every_reason() -> None:
    decision = held_or(Decision(Verdict.PROMOTED, "Rule: log-loss."), [GROUPS, CAPACITY])

    assert decision.verdict is Verdict.HELD
    assert not decision.promote
    assert decision.reason.startswith("Rule: log-loss.")
    assert GROUPS.reason in decision.reason and CAPACITY.reason in decision.reason


def test_a_promotion_without_holds_stays_a_promotion() -> None:
    decision = Decision(Verdict.PROMOTED, "Rule: log-loss.")

    assert held_or(decision, []) is decision


@pytest.mark.parametrize("verdict", [Verdict.REJECTED, Verdict.QUARANTINED])
def test_a_hold_never_changes_a_month_that_is_not_promoted(verdict: Verdict) -> None:
    decision = Decision(verdict, "Worse beyond the tolerance.")

    assert held_or(decision, [GROUPS]) is decision


def test_a_held_month_is_finished_for_the_schedule() -> None:
    assert Verdict.HELD in DECIDED
