"""The promotion lock on a Prefect server: a global concurrency limit of one slot.

Used when the settings resolve the promotion lock to ``prefect`` (adapters/stores.py says when).
The server holds the slot under a lease that the holder's thread renews; a holder that crashes
stops renewing and the server takes the slot back once the lease runs out (at least 60 s, the
shortest lease the server grants), so nobody waits for a dead holder for ever and no machine's
clock is compared with another's. A holder whose renewal fails is cancelled by Prefect.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager

from prefect import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists

from fraud_detection.adapters.promotion_locks import PromotionLock, lock_name
from fraud_detection.config import Settings

SHORTEST_LEASE_S = 60.0  # the server refuses shorter concurrency leases


def ensure_limit(name: str) -> None:
    """The limit exists, is active and has exactly one slot (created on first use)."""
    with get_client(sync_client=True) as client:
        # ObjectAlreadyExists: another process created it between upsert's read and create.
        with contextlib.suppress(ObjectAlreadyExists):
            client.upsert_global_concurrency_limit_by_name(name, limit=1)
        if not client.read_global_concurrency_limit_by_name(name).active:
            client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(active=True))


def prefect_lock(settings: Settings) -> PromotionLock | None:
    """Prefect's slot when the settings choose it; None leaves the choice to the domain."""
    if settings.promotion_lock_kind != "prefect":
        return None
    name = lock_name(settings)

    def take() -> AbstractContextManager[None]:
        ensure_limit(name)
        return concurrency(
            name,
            occupy=1,
            timeout_seconds=settings.promotion_lock_wait_s,
            lease_duration=max(SHORTEST_LEASE_S, settings.promotion_lock_ttl_s),
            strict=True,  # a missing limit is an error, never a promotion without the lock
            raise_on_lease_renewal_failure=True,
        )

    return take
