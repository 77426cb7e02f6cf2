"""Risk bands: one record's level and a column's levels always agree."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fraud_detection.core.bands import LEVELS, RiskBands

BANDS = RiskBands(0.25, 0.45)
EDGES = [0.0, 0.25, np.nextafter(0.25, 0), np.nextafter(0.25, 1), 0.45, np.nextafter(0.45, 1), 1.0]


def test_the_original_levels_at_the_edges() -> None:
    # low below 0.25, high above 0.45, moderate from 0.25 to 0.45 inclusive
    assert [BANDS.level(p) for p in (0.2499, 0.25, 0.45, 0.4501)] == [
        "low_risk", "moderate_risk", "moderate_risk", "high_risk",
    ]  # fmt: skip


@given(
    arrays(np.float64, st.integers(0, 50), elements=st.floats(0, 1) | st.sampled_from(EDGES)),
    st.tuples(st.floats(0, 1), st.floats(0, 1)).map(sorted),
)
def test_a_column_s_positions_name_each_record_s_level(
    probabilities: np.ndarray, edges: list[float]
) -> None:
    bands = RiskBands(*edges)
    positions = bands.positions(probabilities)
    assert positions.dtype == np.int8
    assert [LEVELS[i] for i in positions] == [bands.level(p) for p in probabilities.tolist()]
    assert bands.levels(probabilities).tolist() == [LEVELS[i] for i in positions]
