"""The monthly run's capacity and label-maturity tasks: thin wrappers around domain steps.

Kept beside ``flows/retrain.py`` so the flow gains a few lines, not these tasks' bodies."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.registry import Registry
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.config import Settings
from fraud_detection.core.holds import Hold
from fraud_detection.steps import capacity, capacity_gate, maturity, replay
from fraud_detection.steps.capacity import Traffic
from fraud_detection.steps.challengers import Challenger
from fraud_detection.steps.intake import MonthData
from fraud_detection.steps.judging import Evaluation

IO_RETRIES = 2
retried_io: dict[str, Any] = {
    "retries": IO_RETRIES,
    "retry_delay_seconds": [2, 10],
    "cache_policy": NO_CACHE,
}


def _today() -> datetime:
    started = flow_run.scheduled_start_time
    return started if started is not None else datetime.now(UTC)


@task(**retried_io)
def cut_for_capacity(
    lake: Lake,
    registry: Registry,
    settings: Settings,
    challenger: Challenger,
    holdout: pd.DataFrame,
    month: pd.DataFrame,
) -> tuple[Challenger, Traffic]:
    """The recent traffic (the captured applications of the replay window, the holdout when
    too few) and the challenger with the threshold that flags the capacity on it."""
    captured = capacity.read_traffic(ScoredStore(lake), settings, _today().date())
    traffic = capacity.traffic_or_holdout(captured, settings, holdout, len(month))
    threshold = capacity.cut_threshold(registry, settings, challenger.version, traffic)
    cut = challenger if threshold is None else replace(challenger, threshold=threshold)
    return cut, traffic


@task(**retried_io)
def cut_served_for_capacity(
    registry: Registry, settings: Settings, served: str, traffic: Traffic
) -> str:
    """The refit served in the challenger's place flags the capacity too → its version."""
    capacity.cut_threshold(registry, settings, served, traffic)
    return served


@task(**retried_io)
def measure_at_capacity(settings: Settings, evaluation: Evaluation, traffic: Traffic) -> Evaluation:
    """Both models' precision and recall at capacity, and the paired difference in precision
    (the rule's verdict is not touched)."""
    return capacity_gate.at_capacity(settings, evaluation, traffic)


@task(**retried_io)
def replay_traffic(
    registry: Registry, settings: Settings, evaluation: Evaluation, traffic: Traffic
) -> list[Hold]:
    """Re-score the traffic with both models; the ``retrain-replay`` artifact; its holds."""
    result = replay.replay_traffic(registry, settings, evaluation.scores, traffic)
    create_markdown_artifact(
        key="retrain-replay",
        markdown=replay.replay_markdown(evaluation.month, result, traffic),
        description=f"Captured traffic replayed for {evaluation.month}",
    )
    if result is not None:
        create_table_artifact(
            key="retrain-replay-bands",
            table=result.rows(),
            description=f"Flags by risk band, challenger against champion, {evaluation.month}",
        )
    return replay.holds_of(result, settings)


@task(**retried_io)
def check_label_maturity(
    lake: Lake,
    registry: Registry,
    settings: Settings,
    data: MonthData,
    clean: pd.DataFrame,
    challenger: Challenger,
) -> list[Hold]:
    """Holds of a month whose labels are not yet complete; its challenger tagged with the
    delivery, so the month is judged again when a later one comes (and left out of training
    pools until then), whatever the rule says of the challenger."""
    month = data.ref.name
    holds = maturity.check_maturity(registry, settings, month, clean, lake.labels_as_of(month))
    if holds:
        maturity.mark_immature(registry, challenger.version, data.ref.path)
    return holds
