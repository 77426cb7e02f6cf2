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
for name in (
    "FRAUD_API_KEY",
    "MLFLOW_TRACKING_URI",
    "FRAUD_MLFLOW_TRACKING_URI",
    "PREFECT_API_URL",
):
    os.environ.pop(name, None)  # a developer's shell must not leak into the tests

pytest_plugins = ["tests.support.servers"]


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect API for every flow test of the session (it costs 10–15 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
