"""The promotion lock on a Prefect server (a global concurrency limit of one slot): contenders
take turns. (A crashed holder's slot comes back when its lease runs out, 60 s at the least:
Prefect's own guarantee, not timed here.)"""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import pytest
from prefect import get_client

from flows.locks import prefect_lock
from fraud_detection.adapters.promotion_locks import lock_name
from fraud_detection.config import Settings

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_harness")]


def test_contenders_for_prefects_slot_take_turns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a configuration whose promotion lock is Prefect's
    monkeypatch.setenv("FRAUD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FRAUD_PROMOTION_LOCK", "prefect")
    monkeypatch.setenv("FRAUD_MODEL_NAME", f"fraud-{tmp_path.name}")
    settings = Settings()
    lock = prefect_lock(settings)
    assert lock is not None
    spans: list[tuple[float, float]] = []
    failures: list[BaseException] = []

    def contend() -> None:
        try:
            for _ in range(2):
                with lock():
                    entered = time.monotonic()
                    time.sleep(0.3)
                    spans.append((entered, time.monotonic()))
        except BaseException as exc:  # reported below, not lost in the thread
            failures.append(exc)

    # When three contenders take it twice each at the same time
    threads = [threading.Thread(target=contend) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    # Then each got it, one at a time, from a limit of one slot the lock created
    assert len(spans) == 6
    for (_, left), (entered, _) in itertools.pairwise(sorted(spans)):
        assert entered >= left
    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name(lock_name(settings))
    assert limit.limit == 1 and limit.active and limit.active_slots == 0
