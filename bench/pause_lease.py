"""What a waiting deployment run holds: a pause against a suspension (docs/review.md).

Starts a `prefect server`, serves a one-line flow that waits for a form (deployment concurrency
limit 1), runs it once and prints, at every change, the run's state, the deployment slots taken
and whether a process still runs it; it stops when the run ends or after --watch seconds.

    .venv/bin/python bench/pause_lease.py --mode pause     # about 4 minutes
    .venv/bin/python bench/pause_lease.py --mode suspend
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from uuid import UUID

from prefect import flow
from prefect.client.orchestration import PrefectClient
from prefect.flow_runs import pause_flow_run, suspend_flow_run
from prefect.input import RunInput

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from devstack.servers import PrefectServer  # noqa: E402


class Answer(RunInput):
    approve: bool = False


@flow
def waits_for_a_person(mode: str = "pause") -> bool:
    ask = suspend_flow_run if mode == "suspend" else pause_flow_run
    given: Answer = ask(wait_for_input=Answer, timeout=900, key="review")
    return given.approve


def _process_alive(run_id: UUID, served_pid: int) -> bool:
    """A process runs the flow run: a worker's (its id in the environment) or serve's own child
    (a multiprocessing child of the served process)."""
    marker = f"PREFECT__FLOW_RUN_ID={run_id}".encode()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                return True
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == served_pid and b"spawn_main" in (proc / "cmdline").read_bytes():
                return True
        except (OSError, ValueError, IndexError):
            continue
    return False


async def _watch(api: str, mode: str, seconds: float, served_pid: int) -> None:
    async with PrefectClient(api=api) as client:
        start = time.monotonic()
        while True:
            try:
                deployment = await client.read_deployment_by_name("waits-for-a-person/bench")
                break
            except Exception:  # not served yet
                await asyncio.sleep(1)
        limit_id = str(deployment.global_concurrency_limit.id)  # type: ignore[union-attr]
        run = await client.create_flow_run_from_deployment(deployment.id, parameters={"mode": mode})
        last = None
        while time.monotonic() - start < seconds:
            state = (await client.read_flow_run(run.id)).state
            slots = (await client.read_global_concurrency_limit_by_name(limit_id)).active_slots
            seen = (state.name if state else None, slots, _process_alive(run.id, served_pid))
            if seen != last:
                print(f"{time.monotonic() - start:6.1f} s  state={seen[0]}  "
                      f"deployment slots taken={seen[1]}  process alive={seen[2]}", flush=True)  # fmt: skip
                last = seen
            if state is not None and state.is_final():
                print(f"         ended: {state.message}")
                return
            await asyncio.sleep(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["pause", "suspend"], default="pause")
    parser.add_argument("--watch", type=float, default=330.0, help="seconds to watch the run")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        waits_for_a_person.serve(name="bench", global_limit=1)
        return
    state_dir = Path(tempfile.mkdtemp(prefix="pause-lease-"))
    server = PrefectServer("prefect", state_dir).start()
    env = {**os.environ, "PREFECT_API_URL": server.api_url, "PREFECT_HOME": str(state_dir)}
    with (state_dir / "serve.log").open("w") as log:
        served = subprocess.Popen(
            [sys.executable, __file__, "--serve"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        try:
            asyncio.run(_watch(server.api_url, args.mode, args.watch, served.pid))
        finally:
            served.terminate()
            served.wait(60)
            server.stop()


if __name__ == "__main__":
    main()
