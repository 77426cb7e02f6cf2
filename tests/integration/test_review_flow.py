"""A held month waits for a person on a real `prefect server`: the run pauses with the review
form, the answer comes through the Prefect API as the UI sends it, and the champion moves (or
stays) under the promotion lock, signed with the reviewer's name; nobody answering in time ends
the run with the champion kept and the month still held."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from devstack.servers import PrefectServer
from fraud_detection.adapters.decision_log import DecisionLog
from fraud_detection.adapters.registry import Registry
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from fraud_detection.core.signatures import ChangeKind
from fraud_detection.steps import review
from tests.support.models import register_small, train_small
from tests.support.prefect import read_api, wait_final

pytestmark = pytest.mark.integration
PROJECT = Path(__file__).resolve().parents[2]
RUN_FLOW = "from flows.review import review_month; review_month('2025-03')"


def _held_month(data_dir: Path) -> Settings:
    """Version 1 champion; version 2 held for 2025-03 after being judged against it."""
    settings = Settings(data_dir=data_dir, promotion_lock="lake")
    registry = open_registry(settings)
    trained = train_small(seed=5, month_index=0)
    register_small(registry, trained, "base")
    registry.promote("1", expected_champion=None)
    register_small(
        registry,
        trained,
        "2025-03",
        role="challenger",
        compared_with="1",
        decision="held",
        decision_reason="Held for review: the share of women flagged doubled.",
    )
    registry.log_to_run(registry.version("2").run_id or "", text={"report.md": "## The report"})
    return settings


@pytest.fixture
def held(
    prefect_server: PrefectServer, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[dict[str, Any]]:
    """The review flow started in its own process against the server; stopped after the test."""
    settings = _held_month(tmp_path / "data")
    timeout = getattr(request, "param", 600)
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_server.api_url,
        "FRAUD_DATA_DIR": str(settings.data_dir),
        "FRAUD_PROMOTION_LOCK": "lake",
        "FRAUD_REVIEW_TIMEOUT_SECONDS": str(timeout),
    }
    log = (tmp_path / "flow.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_FLOW], cwd=PROJECT, env=env, stdout=log, stderr=log
    )
    try:
        yield {"settings": settings, "api": prefect_server.api_url, "process": process}
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        log.close()


def _paused_run(api: str, process: subprocess.Popen[bytes], timeout: float = 180) -> UUID:
    """The review-month run once it is paused and waiting for its form."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        paused = [r for r in read_api(api, "read_flow_runs") if r.state and r.state.is_paused()]
        if paused:
            return UUID(str(paused[-1].id))
        assert process.poll() is None, "the review flow ended without pausing"
        time.sleep(1)
    raise TimeoutError("the review flow never paused")


def _answer(api: str, run_id: UUID, given: dict[str, Any]) -> None:
    result = read_api(api, "resume_flow_run", run_id, given)
    assert str(result.status).endswith("ACCEPT"), result


def _registry(settings: Settings) -> Registry:
    return open_registry(settings)


def test_an_approval_through_the_api_moves_the_champion_and_names_the_reviewer(
    held: dict[str, Any],
) -> None:
    api, settings = held["api"], held["settings"]
    run_id = _paused_run(api, held["process"])
    assert _registry(settings).champion().version == "1"  # type: ignore[union-attr]  # waits

    _answer(api, run_id, {"approve": True, "reviewer": "Ada Lovelace", "note": "gap explained"})

    assert wait_final(api, run_id).state.is_completed()
    registry = _registry(settings)
    assert registry.champion().version == "2"  # type: ignore[union-attr]
    assert registry.version("2").tags.other["review_by"] == "Ada Lovelace"
    [change] = DecisionLog(settings).changes()
    assert (change.kind, change.by, change.from_version, change.to_version) == (
        ChangeKind.REVIEW,
        "Ada Lovelace",
        "1",
        "2",
    )
    assert change.note == "gap explained"
    assert review.pending(registry) == []


def test_a_rejection_through_the_api_keeps_the_champion(held: dict[str, Any]) -> None:
    api, settings = held["api"], held["settings"]
    run_id = _paused_run(api, held["process"])

    _answer(api, run_id, {"approve": False, "reviewer": "Bo", "note": "too few frauds"})

    assert wait_final(api, run_id).state.is_completed()
    registry = _registry(settings)
    assert registry.champion().version == "1"  # type: ignore[union-attr]
    assert registry.version("2").tags.other["review_answer"] == "rejected"
    assert DecisionLog(settings).changes() == []


@pytest.mark.parametrize("held", [8], indirect=True)
def test_nobody_answering_in_time_ends_the_run_with_the_champion_kept(
    held: dict[str, Any],
) -> None:
    api, settings = held["api"], held["settings"]
    run_id = _paused_run(api, held["process"])

    final = wait_final(api, run_id, timeout=120)

    assert final.state.is_failed()
    registry = _registry(settings)
    assert registry.champion().version == "1"  # type: ignore[union-attr]
    assert [p.month for p in review.pending(registry)] == ["2025-03"]  # still awaiting a person
