"""The promotion lock across processes: three contenders, one killed (SIGKILL) while it holds
the lock, on the local lake, on the S3 lake (SeaweedFS) and with PostgreSQL's advisory lock.

Each holder records when it entered and left with the storage's clock and the machine's
monotonic clock (tests/support/lock_contender.py). Never two holders: no two holding spans
overlap. The survivors proceed once the killed holder's lease expired by the storage's clock
(the lake), or as soon as its session ended (PostgreSQL).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack.processes import wait_until
from fraud_detection.adapters.conditional_files import STORAGE_CLOCK_RESOLUTION_S
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.lease import Lease
from fraud_detection.adapters.promotion_locks import lock_name
from fraud_detection.config import Settings
from tests.support.servers import BUCKET

pytestmark = pytest.mark.integration

TTL = 3.0  # the lake lease's ttl for this test (renewed every TTL / 4)
PROJECT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Span:
    """One holding of the lock by one process: when it entered and left, on both clocks."""

    pid: int
    entered: float  # monotonic
    left: float
    entered_storage: float | None
    left_storage: float | None


@pytest.fixture(params=["local lake", "S3 lake", "PostgreSQL"])
def lock_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The environment of every contender: the lock each kind of configuration resolves to."""
    env = {
        "FRAUD_DATA_DIR": str(tmp_path / "data"),
        "FRAUD_PROMOTION_LOCK_TTL_S": str(TTL),
        "FRAUD_PROMOTION_LOCK_WAIT_S": "120",
    }
    if request.param == "S3 lake":
        s3 = request.getfixturevalue("s3_server")
        env |= {**s3.client_env(), "FRAUD_LAKE_URI": f"s3://{BUCKET}/locks-{uuid.uuid4().hex[:8]}"}
    if request.param == "PostgreSQL":
        env["FRAUD_MLFLOW_TRACKING_URI"] = request.getfixturevalue("postgres_server").uri
    return env


def _contender(
    env: dict[str, str], log: Path, rounds: int, hold: float, after: Path | None = None
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tests.support.lock_contender", "--log", str(log)]
    command += ["--rounds", str(rounds), "--hold", str(hold)]
    command += ["--after", str(after)] if after else []
    errors = log.with_suffix(".err").open("wb")
    return subprocess.Popen(command, cwd=PROJECT, env={**os.environ, **env}, stderr=errors)


def _events(log: Path, kind: str = "") -> list[dict[str, float]]:
    found = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [e for e in found if e["event"] == kind] if kind else found


def _ready(*logs: Path) -> bool:
    return all(_events(log, "ready") for log in logs)


def _spans(log: Path, killed_at: float | None = None) -> list[Span]:
    """Enter/exit pairs; a process killed while holding left at ``killed_at``."""
    events = [e for e in _events(log) if e["event"] != "ready"]
    spans = []
    for enter, leave in zip(events[::2], [*events[1::2], None], strict=False):
        assert enter["event"] == "enter"
        if leave is None:
            assert killed_at is not None, f"{log.name}: entered and never left"
            left, left_storage = killed_at, None
        else:
            left, left_storage = leave["monotonic"], leave["storage"]
        spans.append(
            Span(int(enter["pid"]), enter["monotonic"], left, enter["storage"], left_storage)
        )
    return spans


def _contest(
    env: dict[str, str], logs: dict[str, Path], lake: Lake | None
) -> tuple[float, float | None]:
    """Run the three contenders, kill the first while it holds the lock → (when it was killed,
    the storage time of its last renewal); every process is gone when this returns."""
    # Given a holder that takes the lock and keeps it (renewing it past its ttl)
    victim = _contender(env, logs["victim"], rounds=1, hold=600)
    # and two more processes contending for it meanwhile (from when it holds it)
    survivors = [
        _contender(env, logs[n], rounds=3, hold=0.3, after=logs["victim"])
        for n in ("first", "second")
    ]
    try:
        wait_until(lambda: _ready(logs["first"], logs["second"]), timeout=90, what="contenders")
        time.sleep(1.5 * TTL)
        # When the holder is killed while it holds the lock
        victim.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        victim.wait(timeout=10)
        last_renewal = None
        if lake is not None:  # the lease file as the dead holder left it: its last renewal
            stamped = lake.stamped.read(Lease(lake, lock_name(Settings())).path)
            assert stamped is not None and json.loads(stamped.body)["token"]
            last_renewal = stamped.written
        for name, survivor in zip(("first", "second"), survivors, strict=True):
            errors = logs[name].with_suffix(".err")
            assert survivor.wait(timeout=120) == 0, errors.read_text()
    finally:
        for process in (victim, *survivors):
            if process.poll() is None:
                process.kill()
    return killed_at, last_renewal


def test_three_contenders_one_killed_while_holding_never_two_holders(
    lock_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in lock_env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    lake = Lake.from_settings(settings) if settings.promotion_lock_kind == "lake" else None
    logs = {name: tmp_path / f"{name}.jsonl" for name in ("victim", "first", "second")}
    killed_at, last_renewal = _contest(lock_env, logs, lake)

    # Then it held the lock until it was killed, and nobody else entered before that
    victim_spans = _spans(logs["victim"], killed_at)
    assert len(victim_spans) == 1 and victim_spans[0].left == killed_at
    others = [span for name in ("first", "second") for span in _spans(logs[name])]
    assert len(others) == 6 and min(s.entered for s in others) >= killed_at
    # and no two holders ever overlapped, on the machine's clock and on the storage's
    spans = sorted([*victim_spans, *others], key=lambda s: s.entered)
    for before, after in itertools.pairwise(spans):
        assert after.entered >= before.left, f"{after} entered while {before} held the lock"
        if before.left_storage is not None and after.entered_storage is not None:
            assert after.entered_storage >= before.left_storage
    # and the survivors proceeded once the dead holder's lease expired (the lake: by the
    # storage's clock, counted from its last renewal) or its session ended (PostgreSQL)
    taken_over = spans[1]
    waited = taken_over.entered - killed_at
    if last_renewal is not None:
        assert taken_over.entered_storage is not None
        assert taken_over.entered_storage - last_renewal >= TTL
        assert waited < TTL + 2 * STORAGE_CLOCK_RESOLUTION_S + 5, waited
    else:
        assert waited < 5, waited
    print(f"\n{settings.promotion_lock_kind} lock: taken over {waited:.2f} s after the kill")
