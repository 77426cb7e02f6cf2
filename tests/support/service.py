"""Start `bentoml serve` as a subprocess on a free loopback port, and talk to it over HTTP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from bentoml._internal.resource import system_resources

from devstack.processes import SERVICE_STOP_GRACE_S, Managed, free_port, wait_until

PROJECT = Path(__file__).resolve().parents[2]
BENTOML = str(Path(sys.executable).parent / "bentoml")
# Its sitecustomize makes the server see only the bento's requirements (as in the image).
BENTO_ONLY = PROJECT / "tests" / "support" / "bento_only"
# The service runs workers="cpu_count"; BentoML counts CPUs the same way (cgroup-aware).
WORKERS = max(1, int(system_resources()["cpu"]))


@dataclass
class BentoServer:
    target: str
    env: dict[str, str]
    log: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    _managed: Managed | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> BentoServer:
        self.port = free_port()
        base = {
            k: v for k, v in os.environ.items() if not k.startswith(("FRAUD_", "MLFLOW_TRACKING"))
        }
        command = [BENTOML, "serve", self.target, "--host", "127.0.0.1", "--port", str(self.port)]
        self.log.unlink(missing_ok=True)
        self._managed = Managed(self.log.stem, self.log.parent, stop_grace=SERVICE_STOP_GRACE_S)
        # A BentoML home of its own unless given one: a starting server empties the Prometheus
        # folder of every other server sharing its home (their counts would be lost).
        # A data folder of its own too unless given one: the captured scores go to its lake, not
        # to the project's data/ (the server runs in the project directory).
        env = {
            "BENTOML_HOME": str(self.log.parent / f"{self.log.stem}-bentoml"),
            "FRAUD_DATA_DIR": str(self.log.parent / f"{self.log.stem}-data"),
            **self._bento_only(base),
            **self.env,
        }
        self.process = self._managed.spawn(command, env, cwd=PROJECT, inherit=base)
        try:
            # /readyz answers from whichever worker accepts; wait until every worker has a model.
            wait_until(
                lambda: get(f"{self.url}/readyz")[0] == 200 and self._workers_serving() >= WORKERS,
                timeout=timeout,
                what="bentoml serve",
                log=self.log,
                process=self.process,
            )
        except (RuntimeError, TimeoutError):
            self.stop()
            raise
        return self

    def _bento_only(self, base: dict[str, str]) -> dict[str, str]:
        """A server configured as the image is (an MLflow server's registry) sees only the
        bento's requirements: a module the service needs outside them fails here, not first
        in the container tier. On a local SQLite registry it runs as on a laptop, with the
        project's environment (the bento has no SQLAlchemy, so no SQLite store)."""
        registry = self.env.get("FRAUD_MLFLOW_TRACKING_URI") or self.env.get("MLFLOW_TRACKING_URI")
        if not (registry or "").startswith(("http://", "https://")):
            return {}
        path = os.pathsep.join(filter(None, [str(BENTO_ONLY), base.get("PYTHONPATH")]))
        return {"PYTHONPATH": path, "FRAUD_TEST_BENTO_ONLY": "1"}

    def _workers_serving(self) -> int:
        """How many workers have logged that they serve a model ("… :N] serving …")."""
        return len(set(re.findall(r":(\d+)\] serving ", self.log.read_text(errors="replace"))))

    def stop(self) -> None:
        if self._managed is not None:
            self._managed.stop()


def request(
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    method: str | None = None,
) -> tuple[int, Any]:
    try:
        response = httpx.request(
            method or ("POST" if body is not None else "GET"),
            url,
            content=body,
            headers={"Content-Type": "application/json", **(headers or {})},
            timeout=30,
        )
    except httpx.HTTPError as error:
        return 0, str(error)
    return response.status_code, _decode(response.content)


def _decode(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode(errors="replace")


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    return request(url, headers=headers, method="GET")


def post(url: str, payload: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    return request(url, json.dumps(payload).encode(), headers=headers)
