"""Which promotion lock a configuration takes: PostgreSQL's advisory lock when the tracking
store is PostgreSQL, Prefect's concurrency limit when a Prefect server is configured, the lake's
lease otherwise (an HTTP tracking server included) — and a pinned kind wins."""

from __future__ import annotations

import pytest

from fraud_detection.adapters.advisory_lock import AdvisoryLock
from fraud_detection.adapters.lease import Lease
from fraud_detection.adapters.promotion_locks import promotion_lock
from fraud_detection.adapters.registry import RegistryError
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings

PG = "postgresql+psycopg://mlflow@db.internal/mlflow"


@pytest.mark.parametrize(
    ("env", "kind"),
    [
        ({}, "lake"),  # the embedded default (SQLite store)
        ({"FRAUD_MLFLOW_TRACKING_URI": "http://mlflow.internal:5000"}, "lake"),
        ({"FRAUD_MLFLOW_TRACKING_URI": PG}, "postgres"),
        ({"PREFECT_API_URL": "http://prefect.internal:4200/api"}, "prefect"),
        ({"FRAUD_MLFLOW_TRACKING_URI": PG, "PREFECT_API_URL": "http://p:4200/api"}, "postgres"),
        ({"PREFECT_API_URL": "http://p:4200/api", "FRAUD_PROMOTION_LOCK": "lake"}, "lake"),
    ],
)
def test_the_configuration_chooses_the_lock(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], kind: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    configured = Settings()
    assert configured.promotion_lock_kind == kind
    lock = promotion_lock(configured)
    if kind == "prefect":
        assert lock is None  # only the flows and the command can build Prefect's
        return
    assert lock is not None
    taken = lock()
    assert isinstance(taken, Lease if kind == "lake" else AdvisoryLock)


def test_without_prefects_lock_the_registry_refuses_to_promote(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a configuration whose lock is Prefect's, opened without it (no flow, no command)
    monkeypatch.setenv("FRAUD_PROMOTION_LOCK", "prefect")
    registry = open_registry(Settings())
    # Then no alias moves without the lock, and the error says where to promote from
    with pytest.raises(RegistryError, match="Prefect global concurrency limit"):
        registry.promote("1", expected_champion=None)
