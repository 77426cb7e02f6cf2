"""Replay: what the challenger would flag on the captured traffic, against the champion.

Both models score the same recent applications; the counts, the overlap of the two flagged sets
and where they differ (risk band) say beforehand what a promotion changes for the fraud team."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fraud_detection.core.bands import RiskBands
from fraud_detection.core.holds import Hold

DAYS_A_WEEK = 7.0


@dataclass(frozen=True)
class FlaggedSets:
    """Both models' scores and thresholds on the same records."""

    champion_probability: np.ndarray = field(repr=False)
    champion_threshold: float
    challenger_probability: np.ndarray = field(repr=False)
    challenger_threshold: float


@dataclass(frozen=True)
class Replay:
    """Counts on the replayed records: each model's flags, both, and by the challenger's band."""

    records: int
    days: float
    champion_flagged: int
    challenger_flagged: int
    both: int
    by_band: dict[str, tuple[int, int]]  # band → (champion flags, challenger flags)

    @property
    def volume_change(self) -> float:
        """Relative change in the number of flags (challenger against champion)."""
        if self.champion_flagged == 0:
            return 0.0 if self.challenger_flagged == 0 else float("inf")
        return self.challenger_flagged / self.champion_flagged - 1.0

    def weekly(self, count: int) -> float:
        return count * DAYS_A_WEEK / self.days if self.days > 0 else float(count)

    def sentence(self) -> str:
        """The replay in words, as the report and the artifact open with."""
        return (
            f"On {self.records:,} captured applications of the last {self.days:g} days the "
            f"challenger would flag {self.weekly(self.challenger_flagged):,.0f} instead of "
            f"{self.weekly(self.champion_flagged):,.0f} a week "
            f"({self.challenger_flagged:,} against {self.champion_flagged:,}, "
            f"{self.volume_change:+.1%}); {self.both:,} of them flagged by both."
        )

    def rows(self) -> list[dict[str, str | int]]:
        """One row a risk band (of the challenger's score), for the artifact's table."""
        return [
            {"risk band": band, "champion flags": old, "challenger flags": new}
            for band, (old, new) in sorted(self.by_band.items())
        ]


def replay(sets: FlaggedSets, bands: RiskBands, days: float) -> Replay:
    """Count each model's flags on the records, their overlap, and flags by risk band."""
    old = np.asarray(sets.champion_probability) >= sets.champion_threshold
    new = np.asarray(sets.challenger_probability) >= sets.challenger_threshold
    levels = bands.levels(np.asarray(sets.challenger_probability))
    by_band = {
        str(band): (int(old[levels == band].sum()), int(new[levels == band].sum()))
        for band in np.unique(levels)
    }
    return Replay(len(old), days, int(old.sum()), int(new.sum()), int((old & new).sum()), by_band)


def replay_holds(result: Replay, max_change: float) -> list[Hold]:
    """A hold when the challenger would change the number of flags by more than ``max_change``."""
    if abs(result.volume_change) <= max_change:
        return []
    return [
        Hold(
            "capacity",
            f"The challenger would flag {result.challenger_flagged:,} of {result.records:,} "
            f"recent applications instead of {result.champion_flagged:,} "
            f"({result.volume_change:+.0%}; the limit is ±{max_change:.0%}).",
        )
    ]
