"""The lake and the registry as configured, wired together: the registry's promotions are
serialised by one lock that every process with the same settings shares.

Which lock (``Settings.promotion_lock_kind``, from the configuration alone):

- ``postgres``: PostgreSQL's advisory lock on MLflow's database, when the tracking URI is
  ``postgresql://…`` (this process reaches the store directly);
- ``prefect``: a Prefect global concurrency limit of one slot, when a Prefect server is configured
  (``PREFECT_API_URL``). The domain does not import Prefect: the shells that can build it (the
  flows, the ``fraud-detection`` command) pass it in as ``lock``;
- ``lake``: a lease in the lake (adapters/lease.py), the embedded default, and the fallback with
  an HTTP tracking server and no Prefect server.
"""

from __future__ import annotations

from typing import NoReturn

from fraud_detection.adapters.advisory_lock import AdvisoryLock
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.lease import Lease
from fraud_detection.adapters.registry import PromotionLock, Registry, RegistryError
from fraud_detection.config import Settings


def lock_name(settings: Settings) -> str:
    """The promotion lock's name, the same for every lock kind: one per registered model."""
    return f"promotion-{settings.model_name}"


def promotion_lease(settings: Settings) -> PromotionLock:
    """A lease in the lake named after the registered model."""
    lake = Lake.from_settings(settings)
    return lambda: Lease(
        lake,
        lock_name(settings),
        ttl=settings.promotion_lock_ttl_s,
        wait=settings.promotion_lock_wait_s,
    )


def advisory_lock(settings: Settings) -> PromotionLock:
    """PostgreSQL's advisory lock on the tracking store's database."""
    return lambda: AdvisoryLock(
        settings.tracking_uri, lock_name(settings), wait=settings.promotion_lock_wait_s
    )


def _needs_prefect() -> PromotionLock:
    def refuse() -> NoReturn:
        raise RegistryError(
            "promotions are serialised by a Prefect global concurrency limit here "
            "(FRAUD_PROMOTION_LOCK=prefect, or PREFECT_API_URL set): promote through the flows "
            "or the fraud-detection command, which take it"
        )

    return refuse


def promotion_lock(settings: Settings) -> PromotionLock:
    """The lock the configuration names, when the domain can build it itself."""
    kind = settings.promotion_lock_kind
    if kind == "postgres":
        return advisory_lock(settings)
    if kind == "prefect":
        return _needs_prefect()
    return promotion_lease(settings)


def open_registry(settings: Settings, lock: PromotionLock | None = None) -> Registry:
    """The registry with its promotion lock (the configured one unless another is given)."""
    return Registry(settings, lock=lock or promotion_lock(settings))
