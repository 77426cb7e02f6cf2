"""Driving a real Prefect server the way a user does: the `prefect` command and the API."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from devstack.processes import log_tail
from devstack.servers import PrefectServer, PrefectWorker
from devstack.stack import deploy_flows

PROJECT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).parent / "prefect")
POOL = "fraud-detection"  # the pool named in prefect.yaml


@contextmanager
def deployed_with_worker(
    prefect_server: PrefectServer, data_dir: Path, env: dict[str, str]
) -> Iterator[dict[str, Any]]:
    """Every deployment of prefect.yaml created on the server and a process worker running
    with ``env`` (what its flow runs inherit); the worker is stopped on the way out."""
    deploy_flows(PROJECT, prefect_server.api_url, POOL, env)
    worker = PrefectWorker(
        "worker",
        data_dir.parent,
        pool=POOL,
        api_url=prefect_server.api_url,
        worker_env=env,
        cwd=PROJECT,
    )
    try:
        worker.start()
        yield {"env": env, "api": prefect_server.api_url, "worker": worker}
    finally:
        worker.stop()


def prefect_cli(
    deployed: dict[str, Any], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``prefect ARGS`` from the project directory, against the deployment's API and env."""
    env = {**os.environ, **deployed["env"], "PREFECT_API_URL": deployed["api"]}
    return subprocess.run(
        [PREFECT, *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=timeout
    )


def read_api(api: str, call: str, *args: Any, **kwargs: Any) -> Any:
    from prefect.client.orchestration import PrefectClient

    async def go() -> Any:
        async with PrefectClient(api=api) as client:
            return await getattr(client, call)(*args, **kwargs)

    return asyncio.run(go())


def run_deployment(deployed: dict[str, Any], name: str, *params: str) -> UUID:
    """``prefect deployment run NAME`` → the flow run's id (its end is awaited by polling the
    API, ``wait_final``: a watching CLI's own timeout would be one more clock to outlast)."""
    args = ["deployment", "run", name]
    for param in params:
        args += ["--param", param]
    result = prefect_cli(deployed, *args)
    match = re.search(r"UUID:\s*([0-9a-f-]{36})", result.stdout)
    assert match, result.stdout + result.stderr + log_tail(deployed["worker"].log, 40)
    return UUID(match[1])


def wait_final(api: str, run_id: UUID, timeout: float = 900) -> Any:
    """The flow run once its state is final (read from the API); a generous default, as a busy
    machine may take minutes to start a run's process."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = read_api(api, "read_flow_run", run_id)
        if run.state is not None and run.state.is_final():
            return run
        time.sleep(1)
    raise TimeoutError(f"flow run {run_id} did not finish")
