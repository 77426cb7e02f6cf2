"""Holds: what turns a promotion by rule into a month held for a person.

A check that finds something a person must weigh (who gets flagged, how many, labels not yet
complete, an approval the settings require) returns a ``Hold``; a decision the rule would
promote becomes ``held`` when any hold stands. Holds never promote: a rejected or quarantined
month stays as it is."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fraud_detection.core.gate import Decision
from fraud_detection.core.tags import Verdict


@dataclass(frozen=True)
class Hold:
    """One reason a person must look before the challenger is served."""

    check: str  # which check raised it: "groups", "capacity", "maturity", "approval", …
    reason: str  # one sentence a reviewer reads: the group or figure, and the limit


def held_or(decision: Decision, holds: Iterable[Hold]) -> Decision:
    """``decision``, or ``held`` with every hold's reason when the rule would promote."""
    standing = list(holds)
    if not decision.promote or not standing:
        return decision
    why = " ".join(hold.reason for hold in standing)
    return Decision(
        Verdict.HELD,
        f"{decision.reason} Held for review, the champion kept until a person answers: {why}",
    )
