"""Monthly retraining as a Prefect flow: each task is a thin wrapper around a domain step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from prefect import flow, get_client, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from flows import retrain_checks as checks
from flows.locks import prefect_lock
from flows.retrain_tasks import (
    check_decided,
    check_groups,
    compare_with_champion,
    evaluate,
    fetch_month,
    gather_pool,
    measure_served_groups,
    measure_served_model,
    pick_month,
    quarantine_month,
    record_evaluation,
    refit_served_model,
    report,
    train_challenger,
    training_fitter,
    transition_stage,
    validate_month,
)
from flows.review import answered, resumed_month, settle
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.registry import Registry
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings, get_settings
from fraud_detection.core.outcomes import LivePerformance
from fraud_detection.steps import (
    groups,
    judging,
    pool,
    review,
)
from fraud_detection.steps.intake import MonthData, MonthError
from fraud_detection.steps.judging import Evaluation
from fraud_detection.steps.pool import TrainingInputs


def _rename_run(name: str) -> None:
    """Name the run after the month it picked, so the UI lists runs by month."""
    with get_client(sync_client=True) as client:
        client.update_flow_run(flow_run.id, name=name)


def _run_name() -> str:
    month = flow_run.parameters.get("month")
    return f"retrain-{month or 'next'}"


@dataclass(frozen=True)
class MonthRun:
    """What every step of one monthly run works with: the settings, the lake, the registry."""

    settings: Settings
    lake: Lake
    registry: Registry


@dataclass(frozen=True)
class Judged:
    """A month's judgement and what the report needs of how it was reached."""

    evaluation: Evaluation
    served: str | None
    inputs: TrainingInputs
    live: LivePerformance
    sections: tuple[str, ...]


def _validated(run: MonthRun, data: MonthData) -> pd.DataFrame:
    """The month's rows, or the month quarantined with its reason (and the run failed)."""
    try:
        return validate_month(run.settings, data)
    except MonthError as exc:
        quarantine_month(run.registry, data, str(exc))
        create_markdown_artifact(
            key="retrain-report",
            markdown=f"# Retrain {data.ref.name}: **quarantined**\n\n{exc}\n\n"
            "The schedule skips this month until a corrected delivery arrives "
            "(`fraud-detection ingest`).",
            description=f"Validation failure of {data.ref.name}",
        )
        raise


def _judge(run: MonthRun, data: MonthData, clean: pd.DataFrame) -> Judged:
    """Train, cut for capacity, score both models, judge, apply every hold, refit if promoted."""
    settings, lake, registry = run.settings, run.lake, run.registry
    with training_fitter(settings) as fitter:
        inputs = gather_pool(lake, registry, settings, data, clean, fitter)
        challenger = train_challenger(registry, settings, inputs, fitter)
        challenger, traffic = checks.cut_for_capacity(
            lake, registry, settings, challenger, inputs.holdout, clean
        )
        scores = evaluate(registry, settings, challenger, inputs.holdout)
        live = measure_served_model(lake, registry, challenger, clean)
        live_by_group = measure_served_groups(lake, registry, settings, challenger, clean)
        evaluation = compare_with_champion(registry, settings, scores)
        evaluation = checks.measure_at_capacity(settings, evaluation, traffic)
        fairness = check_groups(registry, settings, scores, inputs.holdout)
        evaluation = judging.with_holds(evaluation, fairness.holds)
        evaluation = judging.with_holds(evaluation, review.approval_holds(settings))
        evaluation = judging.with_holds(  # capacity (replayed traffic) and label maturity
            evaluation,
            checks.replay_traffic(registry, settings, evaluation, traffic)
            + checks.check_label_maturity(lake, registry, settings, data, clean, challenger),
        )
        served = None
        if evaluation.decision.promote and settings.refit_on_promotion:
            refit = refit_served_model(registry, settings, inputs, challenger, fitter)
            served = checks.cut_served_for_capacity(registry, settings, refit, traffic)
    sections = (groups.groups_section(fairness), live_by_group)
    return Judged(evaluation, served, inputs, live, sections)


@flow(name="monthly-retrain", flow_run_name=_run_name, log_prints=True)
def monthly_retrain(month: str | None = None) -> dict[str, Any]:
    """Train a challenger on ``month`` (default: the earliest undecided month in the lake that
    is not quarantined), judge it against the champion on the month's holdout, and promote it
    unless the evidence says it is worse; a month with garbage labels is quarantined."""
    logger = get_run_logger()
    settings = get_settings()
    lake = Lake.from_settings(settings)
    run = MonthRun(settings, lake, open_registry(settings, lock=prefect_lock(settings)))
    registry = run.registry
    asked = resumed_month()  # restarted by a reviewer's answer: apply it, judge nothing again
    if asked is not None:
        return answered(settings, registry, asked)
    chosen = pick_month(lake, registry, month)
    if chosen is None:
        logger.info("Nothing to do: every month in the lake is decided or quarantined.")
        return {"status": "nothing to do"}
    if month is None:
        _rename_run(f"retrain-{chosen}")
    decided = check_decided(registry, chosen, lake)
    if decided is not None:
        logger.info("Month %s was already decided (%s, version %s): nothing to do.",
                    chosen, decided["decision"], decided["version"])  # fmt: skip
        return {"status": "already decided", "month": chosen, **decided}
    data = fetch_month(lake, chosen)
    judged = _judge(run, data, _validated(run, data))
    evaluation = judged.evaluation
    record_evaluation(registry, evaluation)
    outcome = transition_stage(registry, evaluation, data, judged.served)
    used = pool.PoolUse.of(judged.inputs, settings.history_floor)
    report(registry, settings, evaluation, outcome, judged.live, used, sections=judged.sections)
    logger.info("%s: %s", chosen, evaluation.decision.reason)
    outcome = settle(registry, settings, evaluation, outcome)  # signed; a held month reviewed
    return {
        "status": evaluation.decision.verdict,
        "month": chosen,
        "challenger_version": outcome.challenger_version,
        "champion_version": outcome.champion_version,
        "served_version": outcome.served_version,
        "live_matched": judged.live.matched,  # labelled applications the service had scored
    }


if __name__ == "__main__":
    monthly_retrain()
