"""What a monitor run says about a window of served traffic (pure): its volume, the share per
risk band beside the reference's, the rejected-request rate, which limits were passed, and the
one sentence that opens every report. Only aggregates: no record ever leaves the lake."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from fraud_detection.core.bands import RiskBands
from fraud_detection.core.drift import DriftResult
from fraud_detection.core.params import MonitorLimits

BANDS = ("low_risk", "moderate_risk", "high_risk")
SAMPLE_KEY = "_sample_key"


@dataclass(frozen=True)
class Window:
    """The days of traffic a run reads, both ends included (UTC days, as ``scored/`` is cut)."""

    since: date
    until: date

    @classmethod
    def ending(cls, until: date, days: int) -> Window:
        return cls(until - timedelta(days=days - 1), until)

    def __post_init__(self) -> None:
        if self.since > self.until:
            raise ValueError(f"window starts {self.since} after it ends {self.until}")

    def __str__(self) -> str:
        if self.since == self.until:
            return f"on {self.since}"
        return f"from {self.since} to {self.until}"

    def days(self) -> list[date]:
        return [self.since + timedelta(days=i) for i in range((self.until - self.since).days + 1)]


@dataclass(frozen=True)
class Traffic:
    """How much was scored in the window: records, requests, applications, by day and version."""

    rows: int
    requests: int
    applications: int  # distinct SK_ID_CURR (records without one are not counted here)
    by_day: Mapping[str, int] = field(default_factory=dict)
    by_version: Mapping[str, int] = field(default_factory=dict)
    by_band: Mapping[str, int] = field(default_factory=dict)
    flagged_by_day: Mapping[str, int] = field(default_factory=dict)  # records served as flagged


@dataclass(frozen=True)
class Rejections:
    """Requests refused with a 4xx among all requests of the window (the service's tallies)."""

    rejected: int
    requests: int

    @property
    def rate(self) -> float:
        return self.rejected / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class BandShare:
    """One risk band: its share of the reference's scores and of the window's."""

    band: str
    reference: float | None
    current: float


def band_shares(
    traffic: Traffic, reference_probability: np.ndarray | None, bands: RiskBands
) -> list[BandShare]:
    """Each band's share of the served records beside its share of the reference's scores."""
    reference: dict[str, float] = {}
    if reference_probability is not None and len(reference_probability):
        levels = [bands.level(float(p)) for p in reference_probability]
        reference = {b: levels.count(b) / len(levels) for b in BANDS}
    total = traffic.rows or 1
    return [
        BandShare(b, reference.get(b), traffic.by_band.get(b, 0) / total)
        for b in BANDS
        if b in traffic.by_band or b in reference
    ]


def keep_sample(
    kept: pd.DataFrame | None, new: pd.DataFrame, rows: int, rng: np.random.Generator
) -> pd.DataFrame:
    """A uniform sample of ``rows`` of everything seen so far, one chunk at a time.

    Every row gets a random key once and the smallest keys are kept, so memory stays at one
    chunk plus the sample however long the window is."""
    keyed = new.assign(**{SAMPLE_KEY: rng.random(len(new))})
    both = keyed if kept is None or kept.empty else pd.concat([kept, keyed], ignore_index=True)
    return both.nsmallest(rows, SAMPLE_KEY) if len(both) > rows else both


def limits_passed(
    drift: DriftResult | None, rejections: Rejections | None, limits: MonitorLimits
) -> list[str]:
    """The limits this window passed, each in words (empty: within every limit)."""
    passed = []
    if drift is not None:
        share = drift.drifted_share
        if share > limits.max_drifted_share:
            passed.append(
                f"{len(drift.drifted_features)} of {len(drift.features)} inputs drifted "
                f"({share:.0%} > {limits.max_drifted_share:.0%})"
            )
        if limits.alert_on_score_drift and drift.score_drifted:
            passed.append("the score distribution drifted")
    if rejections is not None and rejections.rate > limits.max_rejected_rate:
        passed.append(
            f"{rejections.rate:.1%} of requests were rejected (> {limits.max_rejected_rate:.1%})"
        )
    return passed


def _listed(names: Sequence[str], most: int = 8) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def headline(
    window: Window,
    traffic: Traffic | None,
    drift: DriftResult | None,
    passed: Sequence[str],
    *,
    no_drift_reason: str = "",
) -> str:
    """The first line of every report: did anything move, and what, in plain words."""
    alert = f"Past the limits ({'; '.join(passed)}). " if passed else ""
    if traffic is None or traffic.rows == 0:
        if passed:  # every request refused: nothing scored, and that is the news
            return f"{alert}No record was scored {window}."
        return f"No traffic {window}: nothing was scored in the window, so nothing to compare."
    volume = f"{traffic.rows:,} records scored {window}"
    if drift is None:
        return f"{alert}Drift not measured ({no_drift_reason}); {volume}."
    moved = drift.drifted_features
    if drift.score is None:
        score = "the champion's score was not compared (it scored none of them)"
    else:
        score = "the score distribution moved" if drift.score.drifted else "the scores did not"
    if moved:
        what = f"{len(moved)} of {len(drift.features)} inputs moved ({_listed(moved)}) and {score}"
    elif drift.score is None:
        what = f"No input moved; {score}"
    elif drift.score_drifted:
        what = "No input moved but the score distribution did"
    else:
        what = "Nothing moved: no input and not the score distribution"
    return f"{alert}{what}, on {volume}."
