"""The capacity threshold flags the asked share; a weekly capacity as a share of traffic."""

from __future__ import annotations

import numpy as np
import pytest

from fraud_detection.core.capacity import (
    capacity_share,
    capacity_threshold,
    share_flagged,
    weekly_share,
)


@pytest.mark.parametrize("share", [0.01, 0.05, 0.2])
def test_flags_the_share_on_a_known_distribution(share: float) -> None:
    scores = np.random.default_rng(4).beta(0.5, 8.0, size=20_000)  # skewed, like fraud scores
    threshold = capacity_threshold(scores, share)
    assert share_flagged(scores, threshold) == pytest.approx(share, abs=1 / 20_000)
    # The beta's own quantile: the cut sits where the distribution says it should.
    assert np.mean(np.random.default_rng(5).beta(0.5, 8.0, 200_000) >= threshold) == (
        pytest.approx(share, rel=0.05)
    )


def test_exactly_k_flags_on_evenly_spaced_scores() -> None:
    scores = np.linspace(0, 1, 1_000, endpoint=False)
    threshold = capacity_threshold(scores, 0.05)
    assert int(np.sum(scores >= threshold)) == 50
    assert threshold == pytest.approx(0.95)


def test_at_least_one_flag_and_bad_shares_refused() -> None:
    assert (
        share_flagged(
            np.array([0.1, 0.2, 0.3]), capacity_threshold(np.array([0.1, 0.2, 0.3]), 0.01)
        )
        > 0
    )
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="between 0 and 1"):
            capacity_threshold(np.array([0.5]), bad)
    with pytest.raises(ValueError, match="no scores"):
        capacity_threshold(np.array([]), 0.05)


def test_weekly_capacity_as_a_share_of_the_traffic() -> None:
    assert weekly_share(35, records=3_000, days=30) == pytest.approx(35 / 700)
    assert capacity_share(None, 35, records=3_000, days=30) == pytest.approx(0.05)
    assert capacity_share(0.02, 35, records=3_000, days=30) == 0.02  # the share wins
    assert capacity_share(None, None, records=3_000, days=30) is None
    assert weekly_share(10_000, records=100, days=7) < 1  # more capacity than traffic: all
