"""The tasks of the monthly-retrain flow (flows/retrain.py), each a thin wrapper around a domain
step, with the retry rule for I/O they share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from fraud_detection.adapters.dask_training import DaskTraining
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.registry import Registry, StaleChampionError
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.config import Settings
from fraud_detection.core.outcomes import LivePerformance
from fraud_detection.steps import (
    challengers,
    groups,
    intake,
    judging,
    live_groups,
    months,
    outcomes,
    pool,
    record,
    transition,
)
from fraud_detection.steps import (
    report as month_report,
)
from fraud_detection.steps.challengers import Challenger, Fitter, LocalFitter
from fraud_detection.steps.cluster_training import ClusterFitter
from fraud_detection.steps.intake import MonthData, MonthError
from fraud_detection.steps.judging import Evaluation, HoldoutScores
from fraud_detection.steps.pool import TrainingInputs
from fraud_detection.steps.transition import TransitionResult

IO_RETRIES = 2
IO_RETRY_DELAYS = [2, 10]


def _retry_unless_final(task: Any, task_run: Any, state: Any) -> bool:
    """Retry I/O hiccups, not bad data nor a champion that moved (retrying cannot fix those)."""
    try:
        state.result()
    except (MonthError, StaleChampionError):
        return False
    except Exception:
        return True
    return False


retried_io: dict[str, Any] = {
    "retries": IO_RETRIES,
    "retry_delay_seconds": IO_RETRY_DELAYS,
    "retry_condition_fn": _retry_unless_final,
    "cache_policy": NO_CACHE,
}


@task(**retried_io)
def pick_month(lake: Lake, registry: Registry, month: str | None) -> str | None:
    return month or months.next_month(lake, registry)


@task(**retried_io)
def check_decided(registry: Registry, month: str, lake: Lake) -> dict[str, str] | None:
    return months.already_decided(registry, month, lake)


@task(**retried_io)
def fetch_month(lake: Lake, month: str) -> MonthData:
    return intake.fetch(lake, month)


@task(cache_policy=NO_CACHE)
def validate_month(settings: Settings, data: MonthData) -> pd.DataFrame:
    clean = intake.validate(data)
    intake.check_judgeable(settings, data, clean)  # too few frauds to judge or to cut
    return clean


@task(**retried_io)
def quarantine_month(registry: Registry, data: MonthData, reason: str) -> None:
    intake.quarantine(registry, data, reason)


@task(**retried_io)
def gather_pool(
    lake: Lake,
    registry: Registry,
    settings: Settings,
    data: MonthData,
    clean: pd.DataFrame,
    fitter: Fitter | None = None,
) -> TrainingInputs:
    """Split the month once (training part, holdout), then add the earlier months' data."""
    month_split = intake.split(settings, data.ref.name, clean)
    return (fitter or LocalFitter.of(settings)).gather(lake, registry, data, month_split)


@task(**retried_io)
def train_challenger(
    registry: Registry, settings: Settings, inputs: TrainingInputs, fitter: Fitter | None = None
) -> Challenger:
    # Idempotent: a retry finds the version already registered for this month and data.
    return challengers.train_challenger(
        registry, settings, inputs, fitter or LocalFitter.of(settings)
    )


@task(**retried_io)
def evaluate(
    registry: Registry, settings: Settings, challenger: Challenger, holdout: pd.DataFrame
) -> HoldoutScores:
    return judging.evaluate(registry, settings, challenger, holdout)


@task(**retried_io)
def measure_served_model(
    lake: Lake, registry: Registry, challenger: Challenger, labels: pd.DataFrame
) -> LivePerformance:
    """The month's labels joined to the scores the service captured for its applications."""
    cutoff = flow_run.scheduled_start_time
    live = outcomes.served_outcomes(ScoredStore(lake), labels, cutoff=cutoff)
    outcomes.record_outcomes(registry, challenger.run_id, live)
    return live


@task(**retried_io)
def measure_served_groups(
    lake: Lake, registry: Registry, settings: Settings, challenger: Challenger, labels: pd.DataFrame
) -> str:
    """Each group's live figures on the month's outcomes, on the run; the report's section."""
    cutoff = flow_run.scheduled_start_time
    figures = live_groups.served_groups(settings, ScoredStore(lake), labels, cutoff=cutoff)
    live_groups.record_live_groups(registry, challenger.run_id, figures)
    return live_groups.live_groups_section(figures)


@task(**retried_io)
def compare_with_champion(
    registry: Registry, settings: Settings, scores: HoldoutScores
) -> Evaluation:
    return judging.compare_with_champion(registry, settings, scores)


@task(**retried_io)
def check_groups(
    registry: Registry, settings: Settings, scores: HoldoutScores, holdout: pd.DataFrame
) -> groups.GroupJudgement:
    """Who each model flags, group by group, on the holdout: the holds, metrics and table."""
    judgement = groups.judge_groups(settings, scores, holdout)
    groups.record_groups(registry, scores.challenger.run_id, judgement)
    create_table_artifact(
        key="retrain-groups",
        table=groups.group_rows(judgement),
        description=f"Who gets flagged, per group, on the holdout of {scores.month}",
    )
    return judgement


@task(**retried_io)
def refit_served_model(
    registry: Registry,
    settings: Settings,
    inputs: TrainingInputs,
    challenger: Challenger,
    fitter: Fitter | None = None,
) -> str:
    return challengers.refit(
        registry, settings, inputs, challenger, fitter or LocalFitter.of(settings)
    )


@task(**retried_io)
def record_evaluation(registry: Registry, evaluation: Evaluation) -> None:
    record.record_evaluation(registry, evaluation)


@task(**retried_io)
def transition_stage(
    registry: Registry, evaluation: Evaluation, data: MonthData, served_version: str | None
) -> TransitionResult:
    return transition.apply_verdict(registry, evaluation, data, served_version)


@task(**retried_io)
def report(  # noqa: PLR0913 (each check adds its report section through ``sections``)
    registry: Registry,
    settings: Settings,
    evaluation: Evaluation,
    outcome: TransitionResult,
    live: LivePerformance | None = None,
    used: pool.PoolUse | None = None,
    sections: tuple[str, ...] = (),
) -> str:
    markdown = month_report.report_markdown(
        evaluation, outcome, tracking_uri=settings.tracking_uri, live=live, pool=used
    ) + "".join(f"\n{section}" for section in sections)
    create_markdown_artifact(
        key="retrain-report",
        markdown=markdown,
        description=f"Champion vs challenger for {evaluation.month}",
    )
    create_table_artifact(
        key="retrain-metrics",
        table=month_report.report_rows(evaluation),
        description=f"Holdout metrics for {evaluation.month}",
    )
    month_report.record_report(registry, evaluation, markdown)
    return markdown


@contextmanager
def training_fitter(settings: Settings) -> Iterator[Fitter]:
    """Where this run fits its models: a Dask cluster when FRAUD_DASK_ADDRESS names one (its
    workers read the lake), else this process."""
    if not settings.dask_address:
        yield LocalFitter.of(settings)
        return
    with DaskTraining.connect(settings.dask_address, settings.storage_options()) as training:
        yield ClusterFitter(training, pool.HistoryFloor.of(settings))
