"""Risk bands: the original contract's low / moderate / high levels of a probability."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the settings import this module: `status` answers without numpy
    import numpy as np


@dataclass(frozen=True)
class RiskBands:
    """low below ``low``, high above ``high``, moderate in between (the original's 0.25 / 0.45)."""

    low: float
    high: float

    def level(self, probability: float) -> str:
        if probability < self.low:
            return "low_risk"
        if probability > self.high:
            return "high_risk"
        return "moderate_risk"

    def levels(self, probabilities: np.ndarray) -> np.ndarray:
        """:meth:`level` of every probability at once (for the captured records)."""
        import numpy as np

        moderate_or_high = np.where(probabilities > self.high, "high_risk", "moderate_risk")
        return np.where(probabilities < self.low, "low_risk", moderate_or_high)
