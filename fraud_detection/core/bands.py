"""Risk bands: the original contract's low / moderate / high levels of a probability."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the settings import this module: `status` answers without numpy
    import numpy as np


LEVELS = ("low_risk", "moderate_risk", "high_risk")  # in order of the probability


@dataclass(frozen=True)
class RiskBands:
    """low below ``low``, high above ``high``, moderate in between (the original's 0.25 / 0.45)."""

    low: float
    high: float

    def level(self, probability: float) -> str:
        if probability < self.low:
            return LEVELS[0]
        if probability > self.high:
            return LEVELS[2]
        return LEVELS[1]

    def levels(self, probabilities: np.ndarray) -> np.ndarray:
        """:meth:`level` of every probability at once, as names."""
        import numpy as np

        names: np.ndarray = np.asarray(LEVELS)[self.positions(probabilities)]
        return names

    def positions(self, probabilities: np.ndarray) -> np.ndarray:
        """:meth:`level` of every probability at once, as its position in ``LEVELS`` (int8: a
        column of names is taken from these without a string per record being made)."""
        import numpy as np

        above_low = np.where(probabilities > self.high, 2, 1)
        return np.where(probabilities < self.low, 0, above_low).astype(np.int8)
