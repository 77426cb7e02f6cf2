"""Child processes for the dev tooling: start one in its own session with a log file, wait for
it to become healthy (failing fast, with the log's tail, when it dies), stop it by PID.

Shared by the test fixtures, the demo, ``deployments/local`` and the benchmarks.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

LOOPBACK = "127.0.0.1"
BIN = Path(sys.executable).parent  # the venv's bin: weed, mlflow, prefect live here
QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "BENTOML_DO_NOT_TRACK": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    log: Path | None = None,
    process: subprocess.Popen[bytes] | None = None,
    fatal: tuple[str, ...] = (),
) -> None:
    """Poll ``check`` until true; fail fast, with the log's last lines, if the process died or
    its log shows one of the ``fatal`` messages (errors it keeps retrying but never gets past)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"{what} exited with code {process.returncode}:\n{log_tail(log) if log else ''}"
            )
        if fatal and log is not None:
            tail = log_tail(log, lines=200)
            if any(message in tail for message in fatal):
                raise RuntimeError(f"{what} cannot start:\n" + "\n".join(tail.splitlines()[-20:]))
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.3)
    raise TimeoutError(f"{what} not healthy after {timeout:.0f} s:\n{log_tail(log) if log else ''}")


def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).is_success
    except httpx.HTTPError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# A prediction service may take FRAUD_CAPTURE_CLOSE_TIMEOUT_S (30 s by default) at its stop to send
# what it buffered to the lake: it is given more than that before SIGKILL.
SERVICE_STOP_GRACE_S = 45.0


def stop_pid(pid: int, *, first: signal.Signals = signal.SIGTERM, grace: float = 15) -> None:
    """Stop a process group started with ``start_new_session``: polite signal, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, first)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and pid_alive(pid):
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


@dataclass
class Managed:
    """One server process: started in its own session, logged to a file, stopped by PID."""

    name: str
    state_dir: Path
    pid: int | None = None
    stop_signal: signal.Signals = signal.SIGTERM
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    stop_grace: float = 15  # seconds from the polite signal to SIGKILL

    @property
    def log(self) -> Path:
        return self.state_dir / f"{self.name}.log"

    def spawn(
        self,
        command: list[str],
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
        inherit: Mapping[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``command`` with ``inherit`` (default: this process's environment) + ``env``."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        handle = self.log.open("ab")
        full_env = {**(os.environ if inherit is None else inherit), **QUIET_ENV, **(env or {})}
        self.process = subprocess.Popen(
            command,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
            user=user,
        )
        handle.close()
        self.pid = self.process.pid
        return self.process

    def stop(self) -> None:
        if self.pid is not None:
            stop_pid(self.pid, first=self.stop_signal, grace=self.stop_grace)
            self.pid = None

    def wait(self) -> None:
        if self.process is not None:
            self.process.wait()

    def alive(self) -> bool:
        return self.pid is not None and pid_alive(self.pid)


def binary(name: str) -> Path:
    found = BIN / name
    if found.exists():
        return found
    on_path = shutil.which(name)
    if on_path is None:
        raise FileNotFoundError(f"{name} not found next to {sys.executable} nor on PATH")
    return Path(on_path)
