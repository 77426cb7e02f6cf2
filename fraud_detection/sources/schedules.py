"""The synthetic year's schedules: which fraud pattern holds in which month, how the fraud rate
moves, and in which month one group's labels are biased. Judgement is checked on schedules it was
not tuned to (bench/decisions.py --schedule)."""

from __future__ import annotations

from dataclasses import dataclass

NATURAL_RATE = 0.08


@dataclass(frozen=True)
class Regime:
    """How fraud looks in a given month (index 0 = the base history)."""

    ring_recent_revolving: float = 0.0
    ring_no_history_high_ratio: float = 0.0


RING = Regime(ring_recent_revolving=3.0)
NO_HISTORY = Regime(ring_no_history_high_ratio=2.6)
CALM = Regime()

# Which pattern holds from which month on (month index → regime); "default" is the generator's
# own year. The others exist so that judgement is checked on schedules it was not tuned to.
DRIFT_SCHEDULES: dict[str, dict[int, Regime]] = {
    "default": {0: CALM, 4: RING, 9: NO_HISTORY},
    "early": {0: CALM, 2: NO_HISTORY, 7: RING},
    "late": {0: CALM, 6: RING},
    "frequent": {0: CALM, 3: RING, 6: NO_HISTORY, 9: CALM, 11: RING},
    "calm": {0: CALM},
    "rate_drift": {0: CALM, 6: RING},
    "biased": {0: CALM, 4: RING, 9: NO_HISTORY},  # the default year, one month's labels biased
    "biased_strong": {0: CALM, 4: RING, 9: NO_HISTORY},
}


@dataclass(frozen=True)
class LabelBias:
    """An investigation campaign aimed at one group: some of its innocent applicants in one
    month are labelled fraud (the truth P_FRAUD is unchanged; only the labels lie)."""

    month_index: int
    share_of_innocent: float  # of the group's innocent applicants, labelled fraud


# Schedules whose labels are biased against pensioners (DAYS_EMPLOYED = 365243) in one month.
LABEL_BIAS: dict[str, LabelBias] = {
    "biased": LabelBias(month_index=6, share_of_innocent=0.08),
    "biased_strong": LabelBias(month_index=6, share_of_innocent=0.15),
}

# Schedules whose fraud rate moves (month index → rate from then on); the others keep
# NATURAL_RATE every month. "rate_drift" stays within the data alarm's rate factor (2×), so
# its months are judged, not quarantined, and each model's calibration prior matters.
RATE_SCHEDULES: dict[str, dict[int, float]] = {
    "rate_drift": {0: NATURAL_RATE, 4: 0.05, 8: 0.09},
}


def regime(month_index: int, schedule: str = "default") -> Regime:
    changes = DRIFT_SCHEDULES[schedule]
    start = max(m for m in changes if m <= month_index)
    return changes[start]


def fraud_rate(month_index: int, schedule: str = "default") -> float:
    """The month's mean true p(fraud) under ``schedule``."""
    changes = RATE_SCHEDULES.get(schedule, {0: NATURAL_RATE})
    return changes[max(m for m in changes if m <= month_index)]
