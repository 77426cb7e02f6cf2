from __future__ import annotations

import pandas as pd

from fraud_detection.core.dataset import positive_rate, split_month


def test_split_is_deterministic_disjoint_and_stratified(month_frame: pd.DataFrame) -> None:
    one = split_month(month_frame, holdout_fraction=0.5, seed=1, month="2025-03")
    two = split_month(
        month_frame.sample(frac=1, random_state=9), holdout_fraction=0.5, seed=1, month="2025-03"
    )
    assert one.holdout.equals(two.holdout) and one.train.equals(
        two.train
    )  # row order does not matter
    assert set(one.train["SK_ID_CURR"]).isdisjoint(one.holdout["SK_ID_CURR"])
    assert len(one.train) + len(one.holdout) == len(month_frame)
    assert abs(positive_rate(one.holdout) - positive_rate(month_frame)) < 0.005
    other = split_month(month_frame, holdout_fraction=0.5, seed=1, month="2025-04")
    assert not other.holdout.equals(one.holdout)  # each month its own split
