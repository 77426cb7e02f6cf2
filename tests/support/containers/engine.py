"""podman + runc as the container engine of the tests, and an offline base image.

No registry is needed: the base image is made with debootstrap from the host's apt mirror
(Debian bookworm, its python3 3.11, uv), imported once into podman's store and reused by every
later session. Everything here runs as root; a missing program (tests/support/containers/host_tools.py)
is installed with apt.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tests.support.containers import host_tools

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[2]
VENV_BIN = Path(sys.executable).parent
CONTAINERS_CONF = HERE / "containers.conf"
SUITE = "bookworm"
# Bump the suffix when the recipe below changes: an image with the old tag is then not reused.
BASE_IMAGE = "localhost/fraud-detection-base:bookworm-py311-1"
UV_IMAGE = "localhost/fraud-detection-uv:1"  # stands in for ghcr.io/astral-sh/uv (has /uv)
LOCK = Path(tempfile.gettempdir()) / "fraud-detection-container-images.lock"
ENGINE_ENV = {
    "CONTAINERS_CONF": str(CONTAINERS_CONF),
    "BUILDAH_FORMAT": "docker",  # keep HEALTHCHECK and friends when an image is committed
}


def engine_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, **ENGINE_ENV, **(extra or {})}


def run(
    command: Sequence[str],
    *,
    timeout: float = 900,
    check: bool = True,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """A command with the engine's environment; on failure the error shows its output's tail."""
    result = subprocess.run(
        list(command),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or engine_env(),
        cwd=cwd,
        input=input,
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command[:4])} … exited {result.returncode}:\n"
            f"{result.stdout[-8000:]}\n{result.stderr[-8000:]}"
        )
    return result


def podman(*args: str, timeout: float = 900, check: bool = True) -> str:
    return run(["podman", *args], timeout=timeout, check=check).stdout.strip()


@contextlib.contextmanager
def machine_lock() -> Iterator[None]:
    """Sessions running at the same time on this machine build the shared images one by one."""
    with LOCK.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class EngineSetupError(RuntimeError):
    """The tier cannot start on this machine: what is missing and which package ships it."""


def needed_programs() -> tuple[host_tools.Tool, ...]:
    """What the tier will run; the network plugins are those of podman's own backend."""
    if shutil.which("podman") is None:
        return host_tools.needed(host_tools.INSTALL_BACKEND)
    try:
        backend = podman("info", "--format", "{{.Host.NetworkBackend}}", timeout=120)
        return host_tools.needed(backend)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        raise EngineSetupError(f"podman does not start: {error}") from None
    except ValueError as error:  # a backend whose programs host_tools does not know
        raise EngineSetupError(str(error)) from None


def _apt_install(packages: Sequence[str]) -> None:
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], env=apt_env, timeout=600)
    run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        env=apt_env,
        timeout=900,
    )


def ensure_engine() -> str | None:
    """Every program of host_tools there, installed with apt (as root) when one is missing.

    Returns why the tier is skipped (not root and programs missing), None when it can run;
    raises EngineSetupError when, as root, a program is still missing after apt."""
    missing = host_tools.missing(needed_programs())
    if not missing:
        return None
    if os.geteuid() != 0:
        return "container tier needs root (to install them) or these programs:\n" + (
            host_tools.report(missing)
        )
    with machine_lock():
        missing = host_tools.missing(needed_programs())
        if missing:
            try:
                _apt_install(host_tools.packages(needed_programs()))
            except (OSError, RuntimeError, subprocess.TimeoutExpired) as error:
                raise EngineSetupError(
                    f"missing:\n{host_tools.report(missing)}\napt-get failed: {error}"
                ) from None
    missing = host_tools.missing(needed_programs())
    if missing:
        raise EngineSetupError(f"missing after apt-get install:\n{host_tools.report(missing)}")
    return None


def image_exists(name: str) -> bool:
    return run(["podman", "image", "exists", name], check=False).returncode == 0


def image_size_mb(name: str) -> float:
    data: list[dict[str, Any]] = json.loads(podman("image", "inspect", name))
    return float(data[0]["Size"]) / 1e6


def apt_mirror() -> str:
    """The first Debian mirror configured on the host (deb822 sources or sources.list)."""
    candidates = sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    for path in candidates:
        for line in path.read_text().splitlines():
            if line.startswith("URIs:") and "security" not in line:
                return line.split()[1]
    sources = Path("/etc/apt/sources.list")
    if sources.exists():
        found = re.search(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+\S+", sources.read_text(), re.M)
        if found:
            return found.group(1)
    return "http://deb.debian.org/debian"


def _host_ca_bundle(rootfs: Path) -> None:
    """HTTPS from inside a build may pass a TLS-inspecting proxy only the host trusts."""
    certs = rootfs / "etc/ssl/certs"
    certs.mkdir(parents=True, exist_ok=True)
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if bundle.exists():
        shutil.copy(bundle, certs / "ca-certificates.crt")
    local = rootfs / "usr/local/share/ca-certificates"
    local.mkdir(parents=True, exist_ok=True)
    for crt in Path("/usr/local/share/ca-certificates").glob("*.crt"):
        shutil.copy(crt, local / crt.name)


def ensure_base_image(workdir: Path) -> tuple[str, float]:
    """Debian bookworm (minbase) + python3 + ca-certificates + uv → BASE_IMAGE.

    Stands in for python:3.11-slim. Built once per machine; returns (image, seconds spent)."""
    started = time.monotonic()
    with machine_lock():
        if not image_exists(BASE_IMAGE):
            rootfs = workdir / "rootfs"
            run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    "--include=python3,ca-certificates",
                    SUITE,
                    str(rootfs),
                    apt_mirror(),
                ],
                timeout=900,
            )
            for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
                for item in (rootfs / junk).glob("*"):
                    if item.is_file():
                        item.unlink()
            _host_ca_bundle(rootfs)
            shutil.copy(VENV_BIN / "uv", rootfs / "usr/local/bin/uv")
            tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
            changes = [
                'CMD ["/bin/bash"]',
                "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
                "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
                "ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt",
                "ENV UV_PYTHON_DOWNLOADS=never",
                "ENV LANG=C.UTF-8",
            ]
            imported = subprocess.run(
                ["podman", "import", *[f"--change={c}" for c in changes], "-", BASE_IMAGE],
                stdin=tar.stdout,
                capture_output=True,
                text=True,
                env=engine_env(),
                timeout=600,
            )
            tar.wait()
            shutil.rmtree(rootfs, ignore_errors=True)
            if imported.returncode != 0:
                raise RuntimeError(f"podman import failed: {imported.stderr[-2000:]}")
        if not image_exists(UV_IMAGE):
            context = workdir / "uv"
            context.mkdir(parents=True, exist_ok=True)
            shutil.copy(VENV_BIN / "uv", context / "uv")
            (context / "Containerfile").write_text("FROM scratch\nCOPY uv /uv\n")
            podman("build", "-q", "-t", UV_IMAGE, str(context))
    return BASE_IMAGE, time.monotonic() - started


def uv_cache_dir() -> str:
    return run([str(VENV_BIN / "uv"), "cache", "dir"], env=dict(os.environ)).stdout.strip()
