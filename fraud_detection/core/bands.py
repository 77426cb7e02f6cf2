"""Risk bands: the original contract's low / moderate / high levels of a probability."""

from __future__ import annotations

from dataclasses import dataclass


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
