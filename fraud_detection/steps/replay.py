"""Replay before promotion: the recent traffic scored by the challenger and the champion.

How many applications each would flag, how many both, and by risk band; a change in volume
past ``replay_max_volume_change`` holds the month for a person, as the fairness gate does."""

from __future__ import annotations

from typing import Protocol

from fraud_detection.core.bands import RiskBands
from fraud_detection.core.evaluation import predict_proba
from fraud_detection.core.holds import Hold
from fraud_detection.core.replay import FlaggedSets, Replay, replay, replay_holds
from fraud_detection.settings.capacity import CapacitySettings
from fraud_detection.steps.capacity import Traffic
from fraud_detection.steps.judging import HoldoutScores
from fraud_detection.steps.ports import ModelWriter


class RiskBandSettings(Protocol):
    """The risk bands the replay counts flags in."""

    def risk_bands(self) -> RiskBands: ...


def replay_traffic(
    registry: ModelWriter, settings: RiskBandSettings, scores: HoldoutScores, traffic: Traffic
) -> Replay | None:
    """Both models' flags on the traffic (None without a champion to compare with)."""
    if scores.compared_version is None or scores.champion_threshold is None:
        return None
    challenger = scores.challenger
    sets = FlaggedSets(
        predict_proba(registry.load_booster(scores.compared_version), traffic.matrix),
        scores.champion_threshold,
        predict_proba(registry.load_booster(challenger.version), traffic.matrix),
        challenger.threshold,
    )
    return replay(sets, settings.risk_bands(), traffic.days)


def holds_of(result: Replay | None, settings: CapacitySettings) -> list[Hold]:
    """The replay's hold, if the change in volume passes the limit — only when the team's
    capacity is set: without one the threshold is cut by F1 and how many it flags is not what
    the settings promise (the replay is still reported)."""
    if result is None or (
        settings.review_capacity is None and settings.review_capacity_per_week is None
    ):
        return []
    return replay_holds(result, settings.replay_max_volume_change)


def replay_markdown(month: str, result: Replay | None, traffic: Traffic) -> str:
    """The replay as the ``retrain-replay`` artifact shows it: words first, then by band."""
    title = f"# Replay of {month}"
    if result is None:
        return f"{title}\n\nNo champion to compare with: nothing replayed."
    source = (
        "captured traffic" if traffic.captured else "the month's holdout (too few captured records)"
    )
    lines = [
        title,
        "",
        result.sentence(),
        "",
        f"Replayed on {source}.",
        "",
        "| risk band (challenger's score) | champion flags | challenger flags |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {band} | {old:,} | {new:,} |" for band, (old, new) in sorted(result.by_band.items())
    ]
    return "\n".join(lines)
