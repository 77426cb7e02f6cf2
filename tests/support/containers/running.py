"""Containers of the service image started with podman, reached on 127.0.0.1, removed by name."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field

from devstack.processes import free_port
from tests.support.containers.engine import podman, run
from tests.support.service import get

WORKERS = 2  # the service runs one worker per CPU; containers here see the host's 2 cores


@dataclass
class Container:
    name: str
    port: int
    started: float = field(default_factory=time.monotonic)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        """What the service printed: podman gives the container's stderr on its own stderr."""
        found = run(["podman", "logs", self.name], timeout=60, check=False)
        return (found.stdout + found.stderr).strip()

    def workers_serving(self) -> int:
        return len(set(re.findall(r":(\d+)\] serving ", self.logs())))

    def wait_ready(self, timeout: float = 120) -> tuple[float, float]:
        """Seconds from `podman run` to /readyz 200, and to every worker serving a model."""
        ready = None
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            state = podman("inspect", "-f", "{{.State.Status}}", self.name, check=False)
            if state not in ("running", "created", "configured"):
                raise RuntimeError(f"container {self.name} is {state}:\n{self.logs()[-3000:]}")
            if ready is None and get(f"{self.url}/readyz")[0] == 200:
                ready = time.monotonic() - self.started
            if ready is not None and self.workers_serving() >= WORKERS:
                return ready, time.monotonic() - self.started
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready after {timeout:.0f} s:\n{self.logs()[-3000:]}")

    def remove(self) -> None:
        podman("rm", "-f", "-t", "5", self.name, check=False, timeout=120)


def create_secret(value: str) -> str:
    """A podman secret (the engine's counterpart of a Kubernetes Secret) → its name."""
    name = f"fraud-api-key-{uuid.uuid4().hex[:8]}"
    run(["podman", "secret", "create", name, "-"], input=value)
    return name


def remove_secret(name: str) -> None:
    podman("secret", "rm", name, check=False)


def run_service(
    image: str,
    env: dict[str, str] | None = None,
    *,
    api_key_secret: str | None = None,
    host_network: bool = False,
) -> Container:
    """``podman run -d`` of the service image.

    With ``host_network`` the container shares the host's loopback (to reach a server on
    127.0.0.1) and listens on a free port there; otherwise 3000 is published on 127.0.0.1."""
    port = free_port()
    name = f"fraud-detection-test-{uuid.uuid4().hex[:8]}"
    args = ["run", "-d", "--name", name]
    if host_network:
        args += ["--network", "host", "-e", "BENTOML_HOST=127.0.0.1", "-e", f"BENTOML_PORT={port}"]
    else:
        args += ["-p", f"127.0.0.1:{port}:3000"]
    if api_key_secret:
        args += ["--secret", f"{api_key_secret},type=env,target=FRAUD_API_KEY"]
    for key, value in (env or {}).items():
        args += ["-e", f"{key}={value}"]
    container = Container(name, port)
    podman(*args, image, timeout=120)
    return container
