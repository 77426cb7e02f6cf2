"""The monthly flow under faults: every registry and lake call after the decision fails once in
turn, Prefect retries the task, and the registry ends exactly as after an undisturbed run.

The adapters are the real ones (MLflow on SQLite, the local lake and its lease) behind a proxy
that raises ``ConnectionError`` (tests/support/faults.py). Failures start when the month's
decision is made, so the calls are those of refit_served_model, record_evaluation,
transition_stage and report. In one run every call fails the first time it is reached: the
task's retry replays the calls before it (they pass now) and the next new call fails, so each
call fails once after everything before it was done. One run fails them before they reach the
store, another after the store did them (the answer lost). Every run starts from the same
snapshot: the champion and the month's challenger registered, nothing decided.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from prefect import Task
from prefect.runtime import task_run

from flows import retrain as retrain_module
from flows import retrain_checks
from flows import review as review_module
from flows.bootstrap import bootstrap
from flows.retrain import monthly_retrain
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.lease import Lease
from fraud_detection.adapters.promotion_locks import lock_name
from fraud_detection.adapters.registry import Registry
from fraud_detection.config import Settings
from fraud_detection.steps import challengers, intake, judging, pool
from tests.support.faults import FaultPlan, Faulty
from tests.support.flows import seed_lake, use_data_dir

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_harness")]

# Cheap training: the refit is trained in every run.
SMALL = {"FRAUD_XGB__N_ESTIMATORS": "30", "FRAUD_CORRECTION_ROUNDS": "10"}
PROMOTING = {"FRAUD_GATE_TOLERANCE": "0.5"}  # the challenger wins: the path with most writes
RETRIES = 200  # a task retries until each of its calls has failed once
UNSTABLE_TAGS = {"promoted_at", "rolled_back_at", "run_id"}  # timestamps; a refit's new run


def _faulty_registry(settings: Settings, plan: FaultPlan) -> Registry:
    """The real registry and lake behind the plan: the steps' registry calls, the MLflow client
    calls inside them, and the lease's calls to the lake all go through it."""
    lake = Faulty(Lake.from_settings(settings), plan, "lake", nested={"stamped"})
    registry = Registry(
        settings,
        lock=lambda: Lease(lake, lock_name(settings), ttl=60, wait=30),  # type: ignore[arg-type]
    )
    faulty: Registry = Faulty(registry, plan, "registry")  # type: ignore[assignment]
    return faulty


def _state(settings: Settings) -> dict[str, Any]:
    """What a run leaves in the registry: aliases, every version's tags (without timestamps),
    versions per month and role, and the judgement recorded on the challenger's run."""
    registry = Registry(settings)
    versions = registry.versions()
    champion, challenger = registry.champion(), registry.alias(settings.challenger_alias)
    judged = next(v for v in versions if v.tags.role == "challenger")
    run = registry.client.get_run(judged.run_id)
    artifacts = {a.path for a in registry.client.list_artifacts(judged.run_id)}
    return {
        "aliases": (champion and champion.version, challenger and challenger.version),
        "tags": {
            v.version: {k: t for k, t in v.tags.to_tags().items() if k not in UNSTABLE_TAGS}
            for v in versions
        },
        "per_month_and_role": Counter((v.tags.month, v.tags.role) for v in versions),
        "recorded": (sorted(run.data.metrics), run.data.tags.get("data_alarm")),
        "reported": "report.md" in artifacts,
    }


class Snapshot:
    """The registry's SQLite store copied aside and restored in place (the sqlite backup API,
    so connections MLflow keeps open see the restored store)."""

    def __init__(self, settings: Settings, path: Path) -> None:
        self.live = settings.tracking_uri.removeprefix("sqlite:///")
        self.saved = str(path)
        self._copy(self.live, self.saved)
        self.leases = Path(settings.lake) / "_leases"

    def restore(self) -> None:
        self._copy(self.saved, self.live)
        for left in self.leases.glob("*.json"):
            left.unlink()

    @staticmethod
    def _copy(source: str, target: str) -> None:
        src, dst = sqlite3.connect(source), sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()


def _undecided_month(settings: Settings) -> str:
    """A champion and the month's challenger registered; the month not yet decided."""
    month = seed_lake(settings, months=1)[0]
    assert bootstrap()["created"] is True
    lake, registry = Lake.from_settings(settings), Registry(settings)
    data = intake.fetch(lake, month)
    split = intake.split(settings, month, intake.validate(data))
    challengers.train_challenger(registry, settings, pool.gather(lake, registry, data, split))
    return month


def test_every_call_after_the_decision_fails_once_and_the_registry_ends_as_undisturbed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (SMALL | PROMOTING).items():
        monkeypatch.setenv(name, value)
    settings = use_data_dir(monkeypatch, tmp_path / "data")
    month = _undecided_month(settings)
    snapshot = Snapshot(settings, tmp_path / "undecided.db")
    # Prefect retries each failed task at once, as often as it takes
    for module in (retrain_module, retrain_checks, review_module):  # every task the flow runs
        for name, task in vars(module).copy().items():
            if isinstance(task, Task):
                quick = task.with_options(retries=RETRIES, retry_delay_seconds=0)
                monkeypatch.setattr(module, name, quick)
    plans: list[FaultPlan] = []
    monkeypatch.setattr(
        retrain_module, "open_registry", lambda s, lock=None: _faulty_registry(s, plans[-1])
    )
    judge = judging.compare_with_champion

    def judged_then_armed(*args: Any) -> judging.Evaluation:
        evaluation = judge(*args)
        plans[-1].arm()  # from here on: the calls made after the decision
        return evaluation

    monkeypatch.setattr(judging, "compare_with_champion", judged_then_armed)

    def run(plan: FaultPlan) -> dict[str, Any]:
        snapshot.restore()
        plans.append(plan)
        state = monthly_retrain(month=month, return_state=True)
        assert state.is_completed(), (plan.injected, state.message)
        assert state.result()["status"] == "promoted"
        return _state(settings)

    # Given the state an undisturbed run leaves, and the calls it makes after the decision
    undisturbed_plan = FaultPlan()
    undisturbed = run(undisturbed_plan)
    calls = set(undisturbed_plan.calls)
    assert undisturbed["per_month_and_role"][(month, "refit")] == 1
    assert {"lake.stamped.create", "lake.stamped.delete", "registry.promote"} <= calls
    survived = {}
    for lost_answer in (False, True):
        # When every call fails once, before reaching the store or with its answer lost
        plan = FaultPlan(every_call=True, lost_answer=lost_answer, context=task_run.get_id)
        # Then the run completes (Prefect retried the tasks) and the registry is exactly as
        # the undisturbed run left it: aliases, tags, one version per role and month
        assert run(plan) == undisturbed, (lost_answer, plan.injected)
        assert calls <= set(plan.injected)  # every kind of call failed, once at least
        assert len(plan.injected) >= len(undisturbed_plan.calls)
        survived[lost_answer] = len(plan.injected)
    print(
        f"\nsurvived {survived[False]} injected failures before the store and "
        f"{survived[True]} lost answers: every call after the decision "
        f"({len(undisturbed_plan.calls)} in an undisturbed run, {len(calls)} kinds) failed once"
    )
