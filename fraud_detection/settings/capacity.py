"""Settings of the review capacity, the replay of captured traffic and label maturity."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CapacitySettings(BaseModel):
    """How many applications the fraud team can investigate, and when a month's labels count."""

    review_capacity: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="share of applications the fraud team can investigate (e.g. 0.05); when "
        "set, a model's threshold flags that share of recent traffic instead of the F1 optimum",
    )
    review_capacity_per_week: int | None = Field(
        None,
        gt=0,
        description="the team's capacity as applications a week (used when review_capacity is "
        "unset; turned into a share with the traffic's weekly volume)",
    )
    replay_days: int = Field(
        30,
        ge=1,
        description="days of captured traffic re-scored before a decision (and the window the "
        "capacity threshold is cut on)",
    )
    replay_max_volume_change: float = Field(
        0.25,
        gt=0,
        description="largest relative change in the number of flagged applications (challenger "
        "against champion on the replayed traffic) promoted without a person; beyond: held",
    )
    replay_min_records: int = Field(
        200,
        ge=1,
        description="fewest captured records for a replay (and a capacity cut) to be judged; "
        "fewer: the month's holdout stands in for traffic",
    )
    monitor_max_capacity_gap: float = Field(
        0.02,
        gt=0,
        lt=1,
        description="the monitor's event fires when the share of the window's captured "
        "applications flagged as served differs from the capacity by more than this, in share "
        "points either way (0.02: two points; only when a capacity is set)",
    )
    label_maturity_days: int = Field(
        0,
        ge=0,
        description="days after a month's end before its labels count as complete; a delivery "
        "whose labels were taken sooner is held as immature (0: no age rule)",
    )
    maturity_confidence: float = Field(
        0.995,
        gt=0.5,
        lt=1,
        description="one-sided confidence with which a month's fraud rate must be below what "
        "the recent matured months make likely for the month to be held as immature",
    )
    maturity_history: int = Field(
        6,
        ge=2,
        description="recent matured months whose fraud rates set what is likely",
    )
    maturity_rate_spread: float = Field(
        0.2,
        ge=0,
        description="smallest month-to-month spread of the log fraud rate assumed (honest "
        "months move this much even when the recent ones happened not to)",
    )
