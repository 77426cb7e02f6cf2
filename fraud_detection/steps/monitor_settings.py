"""What the monitor's steps (monitor.py) read of the settings: the flows pass the whole
``Settings``, which has each of these; mypy proves the steps read nothing else."""

from __future__ import annotations

from typing import Protocol

from fraud_detection.core.bands import RiskBands
from fraud_detection.core.params import MonitorLimits
from fraud_detection.steps.monitor_capacity import CapacityWatchSettings
from fraud_detection.steps.monitor_groups import GroupWatchSettings


class ReferenceSettings(Protocol):
    """What building the champion's reference reads: its size, its seed, the threshold a
    version without one flags at."""

    @property
    def monitor_reference_rows(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def default_threshold(self) -> float: ...


class WindowComparisonSettings(GroupWatchSettings, CapacityWatchSettings, Protocol):
    """What comparing a window with the reference reads: the limits, the risk bands, the
    groups' and the capacity's watch."""

    def monitor_limits(self) -> MonitorLimits: ...
    def risk_bands(self) -> RiskBands: ...
