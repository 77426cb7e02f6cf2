"""Shared test set-up: quiet telemetry, an isolated Prefect home, the real-server fixtures."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

# Before any test module imports Prefect or MLflow: no telemetry, no writes to ~/.prefect.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="fraud-prefect-home-"))
for name, value in {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "BENTOML_DO_NOT_TRACK": "true",
    "DO_NOT_TRACK": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
}.items():
    os.environ[name] = value
# On pytest-xdist workers, each worker's XGBoost and OpenMP get their share of the cores (and so
# do the servers it starts): threads beyond the cores spin and slow every worker down.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _workers > 1:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // _workers)))
for name in (
    "FRAUD_API_KEY",
    "MLFLOW_TRACKING_URI",
    "FRAUD_MLFLOW_TRACKING_URI",
    "PREFECT_API_URL",
):
    os.environ.pop(name, None)  # a developer's shell must not leak into the tests

pytest_plugins = ["tests.support.servers"]


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With `--dist loadgroup`, a module's tests stay on one worker (its module fixtures start
    once) and the container tier's on one worker (its images are built once)."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            container = "tests/container/" in item.nodeid
            item.add_marker(
                pytest.mark.xdist_group("container" if container else item.nodeid.split("::")[0])
            )


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect API for every flow test of the session (it costs 10–15 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
