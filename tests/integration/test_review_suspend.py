"""A held month of the deployed monthly flow on a real `prefect server` and process worker: the
run suspends (its process exits, its deployment slot is free), the form is answered through the
Prefect API, and the restarted run applies the answer without training or judging again; nobody
answering in time: the server fails the run, the champion and the month stay held."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from devstack.processes import log_tail
from devstack.servers import PrefectServer
from fraud_detection.adapters.decision_log import DecisionLog
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from fraud_detection.core.signatures import ChangeKind
from fraud_detection.steps import review
from tests.support.flows import seed_lake, versions_by_month
from tests.support.prefect import deployed_with_worker, read_api, run_deployment, wait_final

pytestmark = pytest.mark.integration
RETRAIN = "monthly-retrain/monthly-retrain"
RUN_TIMEOUT_S = 900.0  # a month's training on a loaded 2-core machine, with room to spare


@pytest.fixture(scope="module")
def deployed(
    prefect_server: PrefectServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A seeded lake, the deployments of prefect.yaml, a worker, and a champion bootstrapped."""
    data_dir = tmp_path_factory.mktemp("suspend") / "data"
    settings = Settings(data_dir=data_dir)
    months = seed_lake(settings, months=2)
    env = {
        "FRAUD_DATA_DIR": str(data_dir),
        "FRAUD_BOOTSTRAP_SAMPLES": "200",
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    with deployed_with_worker(prefect_server, data_dir, env) as started:
        found = {**started, "settings": settings, "months": months}
        boot = wait_final(found["api"], run_deployment(found, "bootstrap/bootstrap"))
        assert boot.state.is_completed(), log_tail(found["worker"].log, 40)
        yield found


def _start_held_month(deployed: dict[str, Any], month: str, review_timeout_s: int) -> UUID:
    """A run of the monthly deployment on ``month`` that the rule would promote (a wide
    non-inferiority margin), held because approvals are required."""
    api = deployed["api"]
    retrain = read_api(api, "read_deployment_by_name", RETRAIN)
    env = {
        "FRAUD_GATE_TOLERANCE": "0.5",
        "FRAUD_PROMOTION_APPROVAL": "required",
        "FRAUD_REVIEW_TIMEOUT_SECONDS": str(review_timeout_s),
    }
    run = read_api(
        api,
        "create_flow_run_from_deployment",
        retrain.id,
        parameters={"month": month},
        job_variables={"env": env},
    )
    return UUID(str(run.id))


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.5)


def _suspended(deployed: dict[str, Any], run_id: UUID) -> Any:
    """The run once the server has it suspended (failing early if it ends instead)."""
    api, worker = deployed["api"], deployed["worker"]
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        run = read_api(api, "read_flow_run", run_id)
        if run.state is not None and run.state.is_paused():
            return run
        assert run.state is None or not run.state.is_final(), (
            f"the run ended {run.state.name} without suspending\n{log_tail(worker.log, 60)}"
        )
        time.sleep(1)
    raise TimeoutError(f"flow run {run_id} never suspended\n{log_tail(worker.log, 60)}")


def _processes_of(run_id: UUID) -> list[int]:
    """The processes running this flow run (the worker starts each with its id in the env)."""
    marker = f"PREFECT__FLOW_RUN_ID={run_id}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def _deployment_slots_taken(api: str) -> int:
    limit = read_api(api, "read_deployment_by_name", RETRAIN).global_concurrency_limit
    taken: int = read_api(api, "read_global_concurrency_limit_by_name", str(limit.id)).active_slots
    return taken


def _task_runs_named(api: str, run_id: UUID, name: str) -> int:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    runs = read_api(
        api, "read_task_runs", flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
    )
    return sum(1 for task_run in runs if task_run.task_key.startswith(f"{name}-"))


def _timeline(api: str, run_id: UUID) -> str:
    """The run's states, in seconds from its first (printed: the figures of docs/review.md)."""
    states = sorted(read_api(api, "read_flow_run_states", run_id), key=lambda s: s.timestamp)
    start = states[0].timestamp
    return ", ".join(f"{s.name} {(s.timestamp - start).total_seconds():.1f} s" for s in states)


def test_a_held_month_suspends_and_a_named_approval_resumes_it_to_promote(
    deployed: dict[str, Any],
) -> None:
    api, settings, month = deployed["api"], deployed["settings"], deployed["months"][0]
    champion = open_registry(settings).champion()
    assert champion is not None

    run_id = _start_held_month(deployed, month, review_timeout_s=3600)
    run = _suspended(deployed, run_id)

    assert run.state.name == "Suspended" and run.state.state_details.pause_reschedule
    seen = time.monotonic()
    _wait_until(lambda: not _processes_of(run_id), 120, "the suspended run's process to exit")
    print(f"process gone {time.monotonic() - seen:.1f} s after the suspension was seen")
    assert _deployment_slots_taken(api) == 0  # the lease went back with the process
    [held] = review.pending(open_registry(settings))
    assert held.month == month and held.champion_then == champion.version
    assert _task_runs_named(api, run_id, "train_challenger") == 1

    answer = {"approve": True, "reviewer": "Ada Lovelace", "note": "groups checked"}
    resumed = read_api(api, "resume_flow_run", run_id, answer)
    assert str(resumed.status).endswith("ACCEPT"), resumed

    final = wait_final(api, run_id, timeout=RUN_TIMEOUT_S)
    assert final.state.is_completed(), log_tail(deployed["worker"].log, 60)
    registry = open_registry(settings)
    served = registry.champion()
    assert served is not None and served.version == held.version
    tags = registry.version(held.version).tags.other
    assert (tags["review_by"], tags["review_answer"]) == ("Ada Lovelace", "approved")
    change = DecisionLog(settings).changes()[-1]
    assert (change.kind, change.by, change.to_version) == (
        ChangeKind.REVIEW,
        "Ada Lovelace",
        held.version,
    )
    # the restarted run applied the answer only: no second challenger, no second training
    assert versions_by_month(settings)[month] == [held.version]
    assert _task_runs_named(api, run_id, "train_challenger") == 1
    assert review.pending(registry) == []
    print(_timeline(api, run_id))


def test_nobody_answering_in_time_fails_the_run_with_the_champion_kept_and_the_month_held(
    deployed: dict[str, Any],
) -> None:
    api, settings, month = deployed["api"], deployed["settings"], deployed["months"][1]
    champion = open_registry(settings).champion()
    assert champion is not None

    run_id = _start_held_month(deployed, month, review_timeout_s=1)
    _suspended(deployed, run_id)

    # the server's pause-expiration service fails it (it looks every 5 s): no process is needed
    final = wait_final(api, run_id, timeout=120)
    assert final.state.is_failed() and "never resumed" in (final.state.message or "")
    _wait_until(lambda: not _processes_of(run_id), 120, "the suspended run's process to exit")
    late = read_api(api, "resume_flow_run", run_id, {"approve": True, "reviewer": "Bo"})
    assert not str(late.status).endswith("ACCEPT"), late
    registry = open_registry(settings)
    assert registry.champion().version == champion.version  # type: ignore[union-attr]
    assert [p.month for p in review.pending(registry)] == [month]  # still awaiting a person
    print(_timeline(api, run_id))
