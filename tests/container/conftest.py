"""The container tier: images built once per session, run with podman on 127.0.0.1.

Before the first test, every program the engine's tests run is looked for (and installed with apt
when missing, as root). Session fixtures, in the order a test pulls them in: the offline base image
(made once per machine), an ``mlflow server`` on the host with two registered versions
(champion = v1), the service image (champion bundled) and the jobs image. Each prints how long it
took; images built here are removed at the end of the session.
"""

from __future__ import annotations

import contextlib
import fcntl
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.servers import MlflowServer
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from tests.support.containers import engine, images
from tests.support.containers.report import REPORTED, report
from tests.support.models import register_small, train_small


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On a pytest-xdist worker: hand the numbers to the controller, which prints them."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["container_numbers"] = list(REPORTED)


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: absent without the plugin
def pytest_testnodedown(node: Any, error: Any) -> None:
    """On the pytest-xdist controller: gather each worker's numbers."""
    REPORTED.extend(getattr(node, "workeroutput", {}).get("container_numbers", []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Shown after the run even when output is captured (as in CI)."""
    if REPORTED:
        terminalreporter.section("container numbers")
        for line in REPORTED:
            terminalreporter.write_line(line)


@pytest.hookimpl(trylast=True)  # after -k/-m deselection: only the tests that will run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Before the first test: every program the engine's tests will run is on this machine.

    As root the missing ones are installed with apt; one still missing ends the session here,
    reported once with its package. Not root and missing: those tests are skipped, saying why."""
    needing = [item for item in items if "host_programs" in getattr(item, "fixturenames", ())]
    if not needing or config.option.collectonly:
        return
    started = time.monotonic()
    try:
        with _one_installer_at_a_time():  # each pytest-xdist worker collects the tier
            reason = engine.ensure_engine()
    except engine.EngineSetupError as error:
        pytest.exit(
            f"container tier cannot start: {error}", returncode=pytest.ExitCode.TESTS_FAILED
        )
    if reason is not None:
        for item in needing:
            item.add_marker(pytest.mark.skip(reason=reason))
    else:
        report("engine programs", f"ready in {time.monotonic() - started:.1f} s (apt when missing)")


@contextlib.contextmanager
def _one_installer_at_a_time() -> Iterator[None]:
    with open(Path(tempfile.gettempdir()) / "fraud-detection-engine.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def host_programs() -> dict[str, str]:
    """Where each program the tier runs was found (checked, or installed, at collection)."""
    return {tool.name: tool.location() or "" for tool in engine.needed_programs()}


@pytest.fixture(scope="session")
def container_engine(
    host_programs: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> str:
    """The base image every build starts from."""
    base, seconds = engine.ensure_base_image(tmp_path_factory.mktemp("base"))
    report("base image", f"{base} ({engine.image_size_mb(base):.0f} MB; {seconds:.1f} s)")
    return base


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A real ``mlflow server`` on 127.0.0.1 (SQLite store, artifacts served by the server)
    with two versions of ``fraud-detector``; champion = v1."""
    root = tmp_path_factory.mktemp("container-mlflow")
    server = MlflowServer("mlflow", root / "server").start()
    try:
        settings = Settings(data_dir=root / "client", mlflow_tracking_uri=server.url)
        first, second = train_small(1, 0), train_small(2, 6)
        registry = open_registry(settings)
        v1 = register_small(registry, first, "2025-01")
        v2 = register_small(registry, second, "2025-06")
        registry.promote(v1, expected_champion=None)
        yield {
            "server": server,
            "settings": settings,
            "versions": (v1, v2),
            "models": (first, second),
        }
    finally:
        server.stop()


@pytest.fixture(scope="session")
def service_image(
    container_engine: str,
    registry: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The champion (v1) bundled into the bento, containerized with the shipped bentofile."""
    image, bento, times = images.build_service_image(
        tmp_path_factory.mktemp("bentoml"),
        {"FRAUD_MLFLOW_TRACKING_URI": registry["server"].url},
    )
    report(
        "service image",
        f"{image} from {bento}: {engine.image_size_mb(image):.0f} MB; "
        + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()),
    )
    try:
        yield image
    finally:
        images.remove_image(image)


@pytest.fixture(scope="session")
def jobs_image(container_engine: str) -> Iterator[str]:
    """deployments/Dockerfile, built as a user builds it (base images as build arguments)."""
    image, seconds = images.build_jobs_image()
    report("jobs image", f"{image}: {engine.image_size_mb(image):.0f} MB; build {seconds:.1f} s")
    try:
        yield image
    finally:
        images.remove_image(image)
