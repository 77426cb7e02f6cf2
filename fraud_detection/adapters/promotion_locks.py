"""The promotion lock: what the registry takes around every alias change, and the kinds the
domain builds itself (the lake's lease, PostgreSQL's advisory lock).

Which kind a configuration takes is ``Settings.promotion_lock_kind`` (adapters/stores.py says
when each applies). Kept apart from the registry so that taking the lock needs no MLflow.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.lease import Lease
from fraud_detection.config import Settings


class HeldLock(Protocol):
    """A lock as its holder sees it: ``confirm`` raises if it was lost (e.g. a lease that
    expired), so nothing is written without it."""

    def confirm(self) -> None: ...


# One alias change at a time. The context may yield None: a lock whose loss its provider
# handles itself (Prefect cancels the holder when its concurrency lease cannot be renewed).
PromotionLock = Callable[[], AbstractContextManager[HeldLock | None]]


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
    # SQLAlchemy comes with MLflow's server, not with the service's image (which never promotes):
    # imported only when this lock is the configured one.
    from fraud_detection.adapters.advisory_lock import AdvisoryLock

    return lambda: AdvisoryLock(
        settings.tracking_uri, lock_name(settings), wait=settings.promotion_lock_wait_s
    )


def promotion_lock(settings: Settings) -> PromotionLock | None:
    """The lock the configuration names; None for Prefect's, which only its shells can build."""
    kind = settings.promotion_lock_kind
    if kind == "postgres":
        return advisory_lock(settings)
    if kind == "prefect":
        return None
    return promotion_lease(settings)
