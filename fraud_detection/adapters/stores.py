"""The lake and the registry as configured, wired together: the registry's promotions are
serialised by one lock that every process with the same settings shares
(adapters/promotion_locks.py builds it).

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

from fraud_detection.adapters.promotion_locks import PromotionLock, promotion_lock
from fraud_detection.adapters.registry import Registry, RegistryError
from fraud_detection.config import Settings


def _needs_prefect() -> PromotionLock:
    def refuse() -> NoReturn:
        raise RegistryError(
            "promotions are serialised by a Prefect global concurrency limit here "
            "(FRAUD_PROMOTION_LOCK=prefect, or PREFECT_API_URL set): promote through the flows "
            "or the fraud-detection command, which take it"
        )

    return refuse


def open_registry(settings: Settings, lock: PromotionLock | None = None) -> Registry:
    """The registry with its promotion lock (the configured one unless another is given)."""
    return Registry(settings, lock=lock or promotion_lock(settings) or _needs_prefect())
