"""The promotion lease on a local lake: expiry by the storage's clock, renewal while held,
takeover only of an expired lease, release only of one's own, loss noticed before a write.

The same lease on S3, and three processes contending with one killed while holding it, are in
tests/integration/test_promotion_lock.py.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.lease import Lease, LeaseLost, LeaseTimeout
from tests.support.faults import FaultPlan, Faulty

TTL = 2.0  # seconds; a dead holder's lease expires after TTL + one tick of the storage clock


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(str(tmp_path / "lake"))


def _left_by_a_dead_holder(lake: Lake, name: str) -> None:
    """The file a holder killed while holding leaves behind (it never renews again)."""
    body = json.dumps({"token": "dead", "write": 1, "ttl": TTL}).encode()
    assert lake.stamped.create(f"{lake.root}/_leases/{name}.json", body) is not None


def _holder_token(lake: Lake, name: str) -> str | None:
    held = lake.stamped.read(f"{lake.root}/_leases/{name}.json")
    return None if held is None else json.loads(held.body)["token"]


class Unreachable:
    """The store as a holder cut off from it sees it: every call fails."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def fail(*args: object, **kwargs: object) -> Any:
            raise ConnectionError("store unreachable")

        return fail


def test_a_dead_holders_lease_is_taken_over_only_once_the_storage_says_it_expired(
    lake: Lake,
) -> None:
    _left_by_a_dead_holder(lake, "p")
    started = time.monotonic()
    with pytest.raises(LeaseTimeout), Lease(lake, "p", ttl=TTL, wait=TTL / 2):
        pass
    with Lease(lake, "p", ttl=TTL, wait=10) as lease:
        waited = time.monotonic() - started
        assert _holder_token(lake, "p") == lease.token
    assert TTL <= waited < TTL + 4
    assert _holder_token(lake, "p") is None  # released


def test_a_held_lease_is_renewed_and_the_expiry_is_stamped_by_the_winning_attempt(
    lake: Lake,
) -> None:
    # Given three holders in turn, the first holding longer than the ttl, the second having
    # waited for most of it: with renewal and the expiry stamped when a lease is won, their
    # holding times never overlap (each holder's time is recorded inside the lease)
    held: list[tuple[str, float, float]] = []
    first_in = threading.Event()

    def hold(name: str, seconds: float) -> None:
        with Lease(lake, "p", ttl=TTL, wait=30):
            entered = time.monotonic()
            first_in.set()
            time.sleep(seconds)
            held.append((name, entered, time.monotonic()))

    first = threading.Thread(target=hold, args=("first", 2 * TTL))
    first.start()
    assert first_in.wait(10)
    others = [threading.Thread(target=hold, args=(n, TTL)) for n in ("second", "third")]
    for thread in others:
        thread.start()
    for thread in (first, *others):
        thread.join()
    spans = sorted(held, key=lambda h: h[1])
    assert next(name for name, *_ in spans) == "first" and len(spans) == 3
    for (_, _, left), (name, entered, _) in itertools.pairwise(spans):
        assert entered >= left, f"{name} entered while the lease was held: {spans}"


def test_a_contender_whose_clock_is_off_neither_steals_a_live_lease_nor_waits_for_ever(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_time = time.time
    with Lease(lake, "live", ttl=TTL, wait=1):
        monkeypatch.setattr(time, "time", lambda: real_time() + 3600)  # an hour ahead
        with pytest.raises(LeaseTimeout), Lease(lake, "live", ttl=TTL, wait=TTL + 1.5):
            pass
    monkeypatch.setattr(time, "time", lambda: real_time() - 3600)  # an hour behind
    _left_by_a_dead_holder(lake, "dead")
    with Lease(lake, "dead", ttl=TTL, wait=10) as lease:
        assert _holder_token(lake, "dead") == lease.token


def test_a_holder_that_lost_its_lease_finds_out_before_it_writes_and_leaves_the_new_one(
    lake: Lake,
) -> None:
    # Given a holder cut off from the store (its renewals fail) for longer than the ttl
    stalled = Lease(lake, "p", ttl=TTL, wait=1).__enter__()
    files = stalled.files
    stalled.files = Unreachable()  # type: ignore[assignment]
    stalled.confirm()  # still fine: renewed less than ttl ago
    # When another process takes the lease over once it expired
    with Lease(lake, "p", ttl=TTL, wait=10) as successor:
        # Then the stalled holder knows before its next write
        with pytest.raises(LeaseLost):
            stalled.confirm()
        # and its release, once it reaches the store again, leaves the successor's file alone
        stalled.files = files
        stalled.__exit__(None, None, None)
        assert _holder_token(lake, "p") == successor.token
        successor.confirm()
    assert _holder_token(lake, "p") is None


def _through(plan: FaultPlan, lake: Lake) -> Lake:
    faulty: Lake = Faulty(lake, plan, "lake", nested={"stamped"})  # type: ignore[assignment]
    return faulty


def test_a_create_whose_answer_was_lost_is_recognised_as_the_holders_own(lake: Lake) -> None:
    # Given a store that creates the lease file but whose answer is lost on the way back
    plan = FaultPlan(fail_at=1, lost_answer=True)
    plan.arm()
    started = time.monotonic()
    # When the holder tries again, it finds its own file: held at once, not after the ttl
    with Lease(_through(plan, lake), "p", ttl=TTL, wait=5) as lease:
        assert plan.injected == ["lake.stamped.create"]
        assert _holder_token(lake, "p") == lease.token
        assert time.monotonic() - started < TTL
    assert _holder_token(lake, "p") is None


def test_a_renewal_whose_answer_was_lost_keeps_the_lease(lake: Lake) -> None:
    # Given a holder whose first renewal lands but whose answer is lost
    plan = FaultPlan(fail_at=1, lost_answer=True)
    with Lease(_through(plan, lake), "p", ttl=TTL, wait=5) as lease:
        plan.arm()  # the next call is the heartbeat's first renewal
        # When it holds the lease for twice the ttl
        time.sleep(2 * TTL)
        # Then the next renewal recognised the unseen one as its own and the lease is still held
        assert plan.injected == ["lake.stamped.replace"]
        lease.confirm()
        assert _holder_token(lake, "p") == lease.token
    assert _holder_token(lake, "p") is None
