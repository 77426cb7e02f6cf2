"""One process contending for the promotion lock: ``python -m tests.support.lock_contender``.

It takes the lock the environment's settings choose (``stores.promotion_lock``: the lake's
lease, or PostgreSQL's advisory lock) ``--rounds`` times, holding it ``--hold`` seconds each
time, and appends one JSON line when it is ready to contend and per enter and exit to ``--log``: the storage's time (the lake's
own clock, as the lease reads it; none for the advisory lock) and the machine's monotonic clock,
which every process on the machine shares.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.promotion_locks import promotion_lock
from fraud_detection.config import Settings


def _record(log: Path, lake: Lake | None, event: str) -> None:
    line = {
        "pid": os.getpid(),
        "event": event,
        "storage": lake.stamped.now(f"{lake.root}/_leases") if lake else None,
        "monotonic": time.monotonic(),
    }
    with log.open("a") as handle:
        handle.write(json.dumps(line) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--hold", type=float, default=0.3)
    parser.add_argument("--after", type=Path, help="contend once this log shows an enter")
    args = parser.parse_args()
    settings = Settings()
    lock = promotion_lock(settings)
    lake = Lake.from_settings(settings) if settings.promotion_lock_kind == "lake" else None
    while args.after and '"enter"' not in _text(args.after):
        time.sleep(0.05)  # started (imports done) while the first holder took the lock
    _record(args.log, lake, "ready")  # about to contend
    for _ in range(args.rounds):
        with lock() as held:
            _record(args.log, lake, "enter")
            time.sleep(args.hold)
            assert held is not None
            held.confirm()  # still ours at the end of the hold
            _record(args.log, lake, "exit")
        time.sleep(0.05)


if __name__ == "__main__":
    main()
