"""A held month waits for a person in the Prefect UI: the run asks with a form (approve or
reject, a name, a note) under the month's report, and applies the answer.

The monthly run calls ``wait_for_review`` when a deployment runs it (a run in the caller's own
process ends with the month held, to be answered with ``fraud-detection review``); the
``review-month`` flow asks again for a month still held. A deployment run *suspends*: its
process exits and gives back its worker and its deployment concurrency slot (a pause would keep
the process while the server releases its slot and revokes its lease, so the lease renewal
fails). The answer reschedules the run from its start; it reads the month it suspended for from
its pause key on the server and only applies the answer (the judgement is on the held version).
A run in its own process pauses, as before. Nobody answering before
FRAUD_REVIEW_TIMEOUT_SECONDS keeps the champion and the month held: a paused run ends Failed,
a suspended run's late answer is refused by the server, which then marks it Failed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import UUID

from prefect import flow, get_client, get_run_logger, task
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run, suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import deployment, flow_run
from pydantic import Field

from flows.locks import prefect_lock
from flows.retrain_tasks import retried_io
from fraud_detection.adapters.decision_log import DecisionLog
from fraud_detection.adapters.registry import Registry
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings, get_settings
from fraud_detection.core.tags import Verdict
from fraud_detection.steps import model_card, review, signing
from fraud_detection.steps.judging import Evaluation
from fraud_detection.steps.review import ReviewAnswer, ReviewOutcome
from fraud_detection.steps.transition import TransitionResult

REPORT_ARTIFACT = "report.md"
REVIEW_KEY = "review-"  # + the month: the pause key, so a resumed run knows what it asked


class ReviewForm(RunInput):
    """The reviewer's answer, as the Prefect UI renders it."""

    approve: bool = Field(False, description="Serve the held version (unticked: keep the champion)")
    reviewer: str = Field(description="Your name: the answer is signed with it")
    note: str = Field("", description="Why: kept with the decision and shown on the model card")


@task(**retried_io)
def sign_and_card(
    registry: Registry, settings: Settings, evaluation: Evaluation, outcome: TransitionResult
) -> None:
    """Sign a promotion by the rule and publish the card of the version now served."""
    log = DecisionLog(settings)
    before = evaluation.scores.champion_version
    if evaluation.decision.promote:
        signing.sign_rule_promotion(
            log, settings, before, outcome.champion_version, evaluation.decision.reason
        )
    if outcome.champion_version:
        model_card.publish_card(registry, log, settings, outcome.champion_version)


def settle(
    registry: Registry, settings: Settings, evaluation: Evaluation, outcome: TransitionResult
) -> TransitionResult:
    """After the transition: sign a rule promotion, publish the served card, and — when a
    deployment runs the month — wait for a person on a held month (a run in the caller's own
    process ends held, to be answered with `fraud-detection review`)."""
    sign_and_card(registry, settings, evaluation, outcome)
    if evaluation.decision.verdict is not Verdict.HELD or not deployment.id:
        return outcome
    answered = wait_for_review(settings, registry, evaluation.month)
    return replace(outcome, champion_version=answered.champion)


def resumed_month() -> str | None:
    """The month a deployment run suspended for, when the reviewer's answer restarted it."""
    if not deployment.id or not flow_run.id:
        return None
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(flow_run.id))
    keys = sorted(run.empirical_policy.pause_keys or ())
    asked = [key.removeprefix(REVIEW_KEY) for key in keys if key.startswith(REVIEW_KEY)]
    return asked[-1] if asked else None


def ask_reviewer(form: type[ReviewForm], timeout: int, month: str) -> ReviewForm:
    """The answer to the form: a deployment run suspends (its process exits and Prefect starts
    it again with the answer: this call then returns it), a run in its own process pauses."""
    key = f"{REVIEW_KEY}{month}"
    if deployment.id:
        given: ReviewForm = suspend_flow_run(wait_for_input=form, timeout=timeout, key=key)
    else:
        given = pause_flow_run(wait_for_input=form, timeout=timeout, key=key)
    return given


def wait_for_review(settings: Settings, registry: Registry, month: str) -> ReviewOutcome:
    """Ask for the review of ``month`` with its form and apply the answer."""
    logger = get_run_logger()
    log = DecisionLog(settings)
    held = review.held_version(registry, month)
    run_id = registry.version(held.version).run_id
    report = log.run_text(run_id, REPORT_ARTIFACT) if run_id else None
    form = ReviewForm.with_initial_data(description=review.form_description(held, report))
    logger.info("%s is held for review: answer the form of this run in the Prefect UI.", month)
    try:
        given = ask_reviewer(form, settings.review_timeout_seconds, month)
    except FlowPauseTimeout:
        logger.warning(
            "Nobody answered the review of %s within %s s: the champion is kept and the month "
            "stays held (`fraud-detection review %s --approve|--reject --by NAME`).",
            month,
            settings.review_timeout_seconds,
            month,
        )
        raise
    outcome = review.answer(
        registry, log, settings, month, ReviewAnswer(given.approve, given.reviewer, given.note)
    )
    if outcome.change is not None:
        model_card.publish_card(registry, log, settings, outcome.version)
    logger.info(
        "%s %s by %s: champion is version %s.",
        month,
        outcome.answer,
        given.reviewer,
        outcome.champion,
    )
    return outcome


@flow(name="review-month", log_prints=True)
def review_month(month: str | None = None) -> dict[str, Any]:
    """Ask a person about a held month (default: the oldest one nobody has answered)."""
    settings = get_settings()
    registry = open_registry(settings, lock=prefect_lock(settings))
    waiting = review.pending(registry)
    chosen = month or resumed_month() or (waiting[0].month if waiting else None)
    if chosen is None:
        get_run_logger().info("No month is waiting for review.")
        return {"status": "nothing to review"}
    return answered(settings, registry, chosen)


def answered(settings: Settings, registry: Registry, month: str) -> dict[str, Any]:
    """Wait for the review of ``month``, apply it, and say what it left."""
    outcome = wait_for_review(settings, registry, month)
    return {
        "status": outcome.answer.value,
        "month": month,
        "version": outcome.version,
        "champion_version": outcome.champion,
    }
