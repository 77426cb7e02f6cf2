"""The lake and the registry as configured, wired together: the registry's promotions are
serialised by a lease in the lake, so any process with the same settings shares one lock."""

from __future__ import annotations

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.lease import Lease
from fraud_detection.adapters.registry import PromotionLock, Registry
from fraud_detection.config import Settings


def promotion_lease(settings: Settings) -> PromotionLock:
    """A lease in the lake named after the registered model."""
    lake = Lake.from_settings(settings)
    return lambda: Lease(lake, f"promotion-{settings.model_name}")


def open_registry(settings: Settings, lock: PromotionLock | None = None) -> Registry:
    """The registry with its promotion lock (the lake's lease unless another is given)."""
    return Registry(settings, lock=lock or promotion_lease(settings))
