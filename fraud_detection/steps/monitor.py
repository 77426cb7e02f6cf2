"""The monitor: a window of captured traffic against the champion's reference.

Steps, each a task of the ``monitor`` flow: read the window (``read_window``: volume by day,
version and risk band over every record; a uniform sample of the records for the drift tests),
build the reference (``build_reference``: a seeded sample of the rows the champion was trained
and judged on — the partitions of its lineage, read from the lake — scored by the champion
itself), compare them (``compare``: Evidently's drift per input and of the score, the band
shares, the rejected-request rate, the limits passed, the headline). Both samples are bounded
(Settings ``monitor_reference_rows``, ``monitor_sample_rows``), so a run's memory does not grow
with the traffic. ``expire_captured`` applies the retention of captured scores.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Protocol

import numpy as np
import pandas as pd

from fraud_detection.core.contract import ID_COLUMN
from fraud_detection.core.dataset import stable_seed
from fraud_detection.core.drift import DriftResult, NotComparable, measure_drift
from fraud_detection.core.evaluation import predict_proba
from fraud_detection.core.features import FEATURES, feature_matrix
from fraud_detection.core.group_spec import parse_attributes
from fraud_detection.core.monitoring import (
    SAMPLE_KEY,
    BandShare,
    Rejections,
    Traffic,
    Window,
    band_shares,
    headline,
    keep_sample,
    limits_passed,
)
from fraud_detection.core.scored import (
    IS_FRAUD,
    MODEL_VERSION,
    PROBABILITY,
    REQUEST_ID,
    RISK_LEVEL,
    Compacted,
    SetAside,
)
from fraud_detection.steps.intake import fetch, validate
from fraud_detection.steps.monitor_capacity import CapacityWatch, watch_capacity
from fraud_detection.steps.monitor_groups import (
    FlaggedRows,
    GroupShare,
    GroupWatchSettings,
    group_shares,
    groups_passed,
)
from fraud_detection.steps.monitor_settings import ReferenceSettings, WindowComparisonSettings
from fraud_detection.steps.ports import LakeReader, MonitorRegistry, ScoredReader

WINDOW_COLUMNS = (
    REQUEST_ID,
    ID_COLUMN,
    *FEATURES,
    PROBABILITY,
    IS_FRAUD,
    RISK_LEVEL,
    MODEL_VERSION,
)
SAMPLED = [*FEATURES, PROBABILITY, IS_FRAUD, MODEL_VERSION]


@dataclass(frozen=True)
class WindowData:
    """The window's volume over every record, and a uniform sample of its records."""

    window: Window
    traffic: Traffic
    sample: pd.DataFrame = field(repr=False)  # the 54 inputs, probability, decision, version
    set_aside: tuple[SetAside, ...] = ()  # captured files that could not be read


@dataclass(frozen=True)
class Reference:
    """A seeded sample of what the champion was trained and judged on, scored by it."""

    version: str
    partitions: tuple[str, ...]  # its lineage: base, earlier months, its month
    rows_total: int  # rows in those partitions
    frame: pd.DataFrame = field(repr=False)  # the 54 inputs and the champion's probability
    threshold: float = 0.5  # the champion's: its reference rows at or over it are flagged

    @property
    def rows(self) -> int:
        return len(self.frame)


@dataclass(frozen=True)
class NoReference:
    """Why drift cannot be measured: no champion, or one without lineage."""

    version: str | None
    reason: str


@dataclass(frozen=True)
class MonitorResult:
    """What a monitor run found: volume, drift, bands, rejections, the limits passed, in words."""

    window: Window
    champion_version: str | None
    traffic: Traffic
    reference: Reference | None
    drift: DriftResult | None
    bands: list[BandShare]
    rejections: Rejections | None  # None: the service recorded no request tallies
    passed: list[str]  # limits passed, in words (empty: within every limit)
    headline: str
    set_aside: tuple[SetAside, ...] = ()  # captured files set aside as unreadable
    groups: tuple[GroupShare, ...] = ()  # each group's share flagged, window and reference
    capacity: CapacityWatch | None = None  # the share flagged against the team's capacity

    @property
    def alert(self) -> bool:
        return bool(self.passed)


@dataclass
class _WindowTally:
    rows: int = 0
    requests: int = 0
    by_day: dict[str, int] = field(default_factory=dict)
    by_version: Counter[str] = field(default_factory=Counter)
    by_band: Counter[str] = field(default_factory=Counter)
    flagged_by_day: dict[str, int] = field(default_factory=dict)
    ids: list[np.ndarray] = field(default_factory=list)

    def add(self, day: date, frame: pd.DataFrame) -> None:
        self.rows += len(frame)
        self.requests += int(frame[REQUEST_ID].nunique())
        self.by_day[day.isoformat()] = len(frame)
        self.by_version.update(frame[MODEL_VERSION].astype(str).value_counts().to_dict())
        self.by_band.update(frame[RISK_LEVEL].astype(str).value_counts().to_dict())
        self.flagged_by_day[day.isoformat()] = int(frame[IS_FRAUD].sum())  # as served
        self.ids.append(frame[ID_COLUMN].dropna().unique())

    def traffic(self) -> Traffic:
        ids = np.unique(np.concatenate(self.ids)) if self.ids else np.array([])
        return Traffic(
            self.rows,
            self.requests,
            len(ids),
            dict(self.by_day),
            dict(self.by_version),
            dict(self.by_band),
            dict(self.flagged_by_day),
        )


def read_window(scored: ScoredReader, window: Window, *, sample_rows: int, seed: int) -> WindowData:
    """Every record of the window counted, a day at a time; ``sample_rows`` of them kept."""
    rng = np.random.default_rng(stable_seed(seed, f"window-{window.since}-{window.until}"))
    present = set(scored.days())
    tally, sample = _WindowTally(), None
    for day in window.days():
        if day.isoformat() not in present:
            continue
        frame = scored.read(since=day, until=day, columns=WINDOW_COLUMNS).to_pandas()
        if frame.empty:
            continue
        tally.add(day, frame)
        sample = keep_sample(sample, frame.loc[:, SAMPLED], sample_rows, rng)
    kept = pd.DataFrame(columns=SAMPLED) if sample is None else sample.drop(columns=SAMPLE_KEY)
    return WindowData(window, tally.traffic(), kept.reset_index(drop=True))


def build_reference(
    lake: LakeReader, registry: MonitorRegistry, settings: ReferenceSettings
) -> Reference | NoReference:
    """The champion's reference, or why there is none (no champion, no lineage)."""
    champion = registry.champion()
    if champion is None:
        return NoReference(None, "there is no champion")
    lineage = registry.lineage(champion.version)
    if not lineage:
        reason = f"champion v{champion.version} has no lineage: a model registered from a file"
        return NoReference(champion.version, reason)
    rng = np.random.default_rng(stable_seed(settings.seed, f"reference-v{champion.version}"))
    sample, total = None, 0
    for ref in lineage:
        rows = validate(fetch(lake, ref.name), labelled=False)
        total += len(rows)
        features = pd.DataFrame(feature_matrix(rows), columns=list(FEATURES))
        sample = keep_sample(sample, features, settings.monitor_reference_rows, rng)
    assert sample is not None
    frame = sample.drop(columns=SAMPLE_KEY).reset_index(drop=True)
    booster = registry.load_booster(champion.version)
    frame[PROBABILITY] = predict_proba(booster, frame.loc[:, list(FEATURES)].to_numpy())
    threshold = champion.tags.threshold_or(settings.default_threshold)
    return Reference(champion.version, tuple(r.name for r in lineage), total, frame, threshold)


def _drift(
    data: WindowData, reference: Reference | NoReference, floor: int
) -> tuple[DriftResult | None, str]:
    """The window's drift, or why it was not measured (no reference, the privacy floor, values
    too few or too alike to compare)."""
    rows = data.traffic.rows
    if rows < floor:
        reason = f"{rows:,} records, below the privacy floor of {floor:,}: counts and rates only"
        return None, reason
    if isinstance(reference, NoReference):
        return None, reference.reason
    sample = data.sample
    # The champion's own scores only: another version's are not drift of this one.
    champion_scores = sample.loc[sample[MODEL_VERSION] == reference.version, PROBABILITY]
    try:
        return measure_drift(reference.frame, sample, champion_scores), ""
    except NotComparable as error:
        return None, str(error)


def compare(
    data: WindowData,
    reference: Reference | NoReference,
    rejections: Rejections | None,
    settings: WindowComparisonSettings,
) -> MonitorResult:
    """Drift per input and of the score, band shares, rejected rate, limits, headline."""
    traffic = data.traffic
    ref = reference if isinstance(reference, Reference) else None
    drift, reason = (
        _drift(data, reference, settings.monitor_min_records) if traffic.rows else (None, "")
    )
    groups = _groups(data, ref, settings)
    capacity = watch_capacity(data.window, traffic, settings)
    # Limits hold with or without scored records: a service refusing every request must alert.
    passed = [*limits_passed(drift, rejections, settings.monitor_limits()), *groups_passed(groups)]
    passed += capacity.passed() if capacity else []
    line = headline(data.window, traffic, drift, passed, no_drift_reason=reason)
    reference_scores = None if ref is None else ref.frame[PROBABILITY].to_numpy()
    return MonitorResult(
        window=data.window,
        champion_version=reference.version,
        traffic=traffic,
        reference=ref,
        drift=drift,
        bands=band_shares(traffic, reference_scores, settings.risk_bands()) if traffic.rows else [],
        rejections=rejections,
        passed=passed,
        headline=line,
        set_aside=data.set_aside,
        groups=tuple(groups),
        capacity=capacity,
    )


def _groups(
    data: WindowData, ref: Reference | None, settings: GroupWatchSettings
) -> list[GroupShare]:
    """Each group's share flagged on the champion's own records in the sampled window (another
    version's decisions are not its to compare) against the champion's reference."""
    sample = data.sample
    if sample.empty or IS_FRAUD not in sample.columns:
        return []
    if ref is not None:
        sample = sample[sample[MODEL_VERSION].astype(str) == ref.version]
    window = FlaggedRows(sample, sample[IS_FRAUD].to_numpy(dtype=bool))
    flagged = None if ref is None else ref.frame[PROBABILITY].to_numpy() >= ref.threshold
    reference = None if ref is None or flagged is None else FlaggedRows(ref.frame, flagged)
    attributes = parse_attributes(settings.group_attributes)
    floor, limit = settings.monitor_min_records, settings.monitor_max_group_shift
    return group_shares(window, reference, attributes, floor=floor, limit=limit)


class ExpiringScores(Protocol):
    """Captured scores that can be deleted by day (``ScoredStore``)."""

    def delete_before(self, day: date) -> list[str]: ...


def expire_captured(scored: ExpiringScores, *, retention_days: int, today: date) -> list[str]:
    """Delete the day partitions older than the retention → the days removed."""
    return scored.delete_before(today - timedelta(days=retention_days))


class Compacting(Protocol):
    """Closed days of captured scores that can be compacted (``Compactor`` with the store)."""

    def compact_day(self, day: str) -> Compacted | None: ...


def compact_closed_days(
    compactor: Compacting, days: list[str], *, after_days: int, today: date
) -> list[Compacted]:
    """Compact each of ``days`` that is at least ``after_days`` old → what was rewritten."""
    last = (today - timedelta(days=after_days)).isoformat()
    done = (compactor.compact_day(day) for day in days if day <= last)
    return [c for c in done if c is not None]
