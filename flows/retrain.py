"""Monthly retraining as a Prefect flow: each task is a thin wrapper around a domain step."""

from __future__ import annotations

from typing import Any

import pandas as pd
from prefect import flow, get_client, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from fraud_detection import retraining
from fraud_detection.config import Settings, get_settings
from fraud_detection.evaluation import Decision
from fraud_detection.registry import StaleChampionError
from fraud_detection.retraining import Challenger, Evaluation, MonthData, MonthError, Outcome

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


io_task = {
    "retries": IO_RETRIES,
    "retry_delay_seconds": IO_RETRY_DELAYS,
    "retry_condition_fn": _retry_unless_final,
    "cache_policy": NO_CACHE,
}


@task(**io_task)
def pick_month(settings: Settings, month: str | None) -> str | None:
    return month or retraining.next_month(settings)


@task(**io_task)
def fetch_month(settings: Settings, month: str) -> MonthData:
    return retraining.fetch(settings, month)


@task(cache_policy=NO_CACHE)
def validate_month(settings: Settings, data: MonthData) -> pd.DataFrame:
    return retraining.validate(settings, data)


@task(**io_task)
def train_challenger(settings: Settings, data: MonthData, clean: pd.DataFrame) -> Challenger:
    # Idempotent: a retry finds the version already registered for this month and data.
    return retraining.train_challenger(settings, data, clean)


@task(**io_task)
def evaluate(settings: Settings, challenger: Challenger, clean: pd.DataFrame) -> Evaluation:
    holdout = retraining.holdout_of(settings, challenger.month, clean)
    return retraining.evaluate(settings, challenger, holdout)


@task(cache_policy=NO_CACHE)
def compare_with_champion(settings: Settings, evaluation: Evaluation) -> Decision:
    return retraining.compare(settings, evaluation)


@task(**io_task)
def transition_stage(settings: Settings, evaluation: Evaluation, decision: Decision) -> Outcome:
    return retraining.transition(settings, evaluation, decision)


@task(**io_task)
def report(settings: Settings, evaluation: Evaluation, outcome: Outcome) -> str:
    markdown = retraining.report_markdown(evaluation, outcome, tracking_uri=settings.tracking_uri)
    create_markdown_artifact(
        key="retrain-report",
        markdown=markdown,
        description=f"Champion vs challenger for {evaluation.month}",
    )
    create_table_artifact(
        key="retrain-metrics",
        table=retraining.report_rows(evaluation),
        description=f"Holdout metrics for {evaluation.month}",
    )
    retraining.record_report(settings, evaluation, markdown)
    return markdown


def _rename_run(name: str) -> None:
    """Name the run after the month it picked, so the UI lists runs by month."""
    with get_client(sync_client=True) as client:
        client.update_flow_run(flow_run.id, name=name)


def _run_name() -> str:
    month = flow_run.parameters.get("month")
    return f"retrain-{month or 'next'}"


@flow(name="monthly-retrain", flow_run_name=_run_name, log_prints=True)
def monthly_retrain(month: str | None = None) -> dict[str, Any]:
    """Train a challenger on ``month`` (default: the earliest undecided month in the lake),
    judge it against the champion on the month's holdout, and promote it only if it wins."""
    logger = get_run_logger()
    settings = get_settings()
    chosen = pick_month(settings, month)
    if chosen is None:
        logger.info("Nothing to do: every month in the lake already has a decided run.")
        return {"status": "nothing to do"}
    if month is None:
        _rename_run(f"retrain-{chosen}")
    data = fetch_month(settings, chosen)
    clean = validate_month(settings, data)
    challenger = train_challenger(settings, data, clean)
    if challenger.decision is not None:
        logger.info(
            "Month %s was already decided (%s, version %s): nothing to do.",
            chosen,
            challenger.decision,
            challenger.version,
        )
        return {
            "status": "already decided",
            "month": chosen,
            "version": challenger.version,
            "decision": challenger.decision,
        }
    evaluation = evaluate(settings, challenger, clean)
    decision = compare_with_champion(settings, evaluation)
    outcome = transition_stage(settings, evaluation, decision)
    report(settings, evaluation, outcome)
    logger.info("%s: %s", chosen, decision.reason)
    return {
        "status": "promoted" if decision.promote else "rejected",
        "month": chosen,
        "challenger_version": outcome.challenger_version,
        "champion_version": outcome.champion_version,
    }


if __name__ == "__main__":
    monthly_retrain()
