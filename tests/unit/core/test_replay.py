"""The replay's counts, overlap and bands equal a hand count; the hold past the volume limit."""

from __future__ import annotations

import numpy as np
import pytest

from fraud_detection.core.bands import RiskBands
from fraud_detection.core.replay import FlaggedSets, replay, replay_holds

BANDS = RiskBands(0.25, 0.45)


def test_counts_overlap_and_bands_by_hand() -> None:
    champion = np.array([0.9, 0.6, 0.5, 0.1, 0.3, 0.05])  # threshold 0.5: rows 0, 1, 2
    challenger = np.array([0.8, 0.2, 0.7, 0.6, 0.1, 0.3])  # threshold 0.55: rows 0, 2, 3
    result = replay(FlaggedSets(champion, 0.5, challenger, 0.55), BANDS, days=7)
    assert (result.records, result.champion_flagged, result.challenger_flagged) == (6, 3, 3)
    assert result.both == 2  # rows 0 and 2
    # Bands of the challenger's score: high 0, 2, 3; moderate 5 (0.3); low 1, 4.
    assert result.by_band == {"high_risk": (2, 3), "low_risk": (1, 0), "moderate_risk": (0, 0)}
    assert result.volume_change == 0.0
    assert replay_holds(result, 0.1) == []


def test_a_volume_change_past_the_limit_holds_with_the_numbers() -> None:
    champion = np.array([0.9, 0.1, 0.1, 0.1])
    challenger = np.array([0.9, 0.8, 0.7, 0.1])
    result = replay(FlaggedSets(champion, 0.5, challenger, 0.5), BANDS, days=3.5)
    assert result.volume_change == pytest.approx(2.0)
    (hold,) = replay_holds(result, 0.25)
    assert hold.check == "capacity"
    assert "3 of 4" in hold.reason and "instead of 1" in hold.reason and "±25%" in hold.reason
    assert result.sentence() == (
        "On 4 captured applications of the last 3.5 days the challenger would flag 6 instead "
        "of 2 a week (3 against 1, +200.0%); 1 of them flagged by both."
    )
    assert replay_holds(result, 2.5) == []


def test_no_champion_flags_is_an_unbounded_change() -> None:
    result = replay(FlaggedSets(np.zeros(3), 0.5, np.ones(3), 0.5), BANDS, days=7)
    assert result.volume_change == float("inf")
    assert replay_holds(result, 10.0)
