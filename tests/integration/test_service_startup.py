"""`bentoml serve` with settings it cannot use: it refuses to start, in one line."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from devstack.processes import free_port
from tests.support.service import BENTOML, PROJECT

pytestmark = pytest.mark.integration
STARTUP_S = 600  # a loaded 2-core machine takes minutes to import the service


def _serve_until_exit_or_answer(env: dict[str, str], port: int) -> tuple[int | None, str]:
    """Run `bentoml serve` until it exits (→ its code and output) or answers an HTTP request
    (→ None and its output so far): a server that listens has not refused to start."""
    log = Path(env["BENTOML_HOME"]).with_suffix(".log")
    command = [BENTOML, "serve", "service.service:FraudDetector", "--host", "127.0.0.1"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=PROJECT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + STARTUP_S
            while process.poll() is None and time.monotonic() < deadline:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/livez", timeout=2)
                    return None, log.read_text(errors="replace")
                except httpx.TransportError:
                    time.sleep(0.5)
            return process.poll(), log.read_text(errors="replace")
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_api_key_stops_the_service_at_start_with_one_line(
    tmp_path: Path, blank: str
) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FRAUD_", "MLFLOW_TRACKING"))}
    env = {
        **base,
        "BENTOML_HOME": str(tmp_path / "bentoml"),
        "FRAUD_DATA_DIR": str(tmp_path / "data"),
        "FRAUD_API_KEY": blank,
    }
    code, output = _serve_until_exit_or_answer(env, free_port())
    assert code is not None, f"the service started and answered with a blank key:\n{output}"
    assert code != 0, output
    lines = output.strip().splitlines()
    assert lines == [
        "error: the fraud-detection service cannot start: FRAUD_API_KEY is set but blank; set "
        "it to the key clients must send, or unset it to leave /predict open"
    ], output
