"""Driving a real Prefect server the way a user does: the `prefect` command and the API."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from uuid import UUID

from devstack.processes import log_tail

PROJECT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).parent / "prefect")


def prefect_cli(
    deployed: dict[str, Any], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``prefect ARGS`` from the project directory, against the deployment's API and env."""
    env = {**os.environ, **deployed["env"], "PREFECT_API_URL": deployed["api"]}
    return subprocess.run(
        [PREFECT, *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=timeout
    )


def read_api(api: str, call: str, *args: Any) -> Any:
    from prefect.client.orchestration import PrefectClient

    async def go() -> Any:
        async with PrefectClient(api=api) as client:
            return await getattr(client, call)(*args)

    return asyncio.run(go())


def run_deployment(deployed: dict[str, Any], name: str, *params: str) -> UUID:
    """``prefect deployment run NAME --watch`` → the flow run's id."""
    args = ["deployment", "run", name, "--watch", "--watch-timeout", "300"]
    for param in params:
        args += ["--param", param]
    result = prefect_cli(deployed, *args)
    match = re.search(r"UUID:\s*([0-9a-f-]{36})", result.stdout)
    assert match, result.stdout + result.stderr + log_tail(deployed["worker"].log, 40)
    return UUID(match[1])


def wait_final(api: str, run_id: UUID, timeout: float = 300) -> Any:
    """The flow run once its state is final (read from the API)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = read_api(api, "read_flow_run", run_id)
        if run.state is not None and run.state.is_final():
            return run
        time.sleep(1)
    raise TimeoutError(f"flow run {run_id} did not finish")
