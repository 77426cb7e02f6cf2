from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraud_detection.config import Settings
from fraud_detection.features import validate_frame
from fraud_detection.synthetic import generate
from fraud_detection.training import best_f1_threshold, train


def test_best_f1_threshold_on_a_hand_made_example() -> None:
    y = np.array([0, 0, 0, 0, 1, 1, 0, 1])
    p = np.array([0.1, 0.2, 0.3, 0.35, 0.4, 0.6, 0.65, 0.9])
    threshold, f1 = best_f1_threshold(y, p)
    # at 0.4: tp 3, fp 1, fn 0 → F1 = 6/7, the best cut
    assert threshold == pytest.approx(0.4) and f1 == pytest.approx(6 / 7)


def test_the_threshold_comes_from_validation_data_only() -> None:
    pool = validate_frame(generate(3_000, month_index=0, seed=5)[0])
    params = Settings().xgb
    first = train(pool, params, train_positive_rate=0.25, validation_fraction=0.2, seed=5)
    again = train(pool, params, train_positive_rate=0.25, validation_fraction=0.2, seed=5)
    # Same training data → same threshold, whatever data the model is later judged on
    assert first.threshold == again.threshold
    assert first.rows["validation_rows"] == 600 and first.rows["pool_rows"] == 3_000
    # validation keeps the natural rate; the fitted part is undersampled to 25 %
    assert first.rows["fit_positives"] / first.rows["fit_rows"] == pytest.approx(0.25, abs=0.01)
    assert first.rows["validation_positives"] / 600 == pytest.approx(
        pool["TARGET"].mean(), abs=0.01
    )


def test_a_single_class_cannot_be_trained() -> None:
    pool = validate_frame(generate(500, month_index=0, seed=5)[0]).assign(TARGET=0)
    with pytest.raises(ValueError, match="single class"):
        train(pool, Settings().xgb, train_positive_rate=0.25, validation_fraction=0.2, seed=1)


def test_the_model_takes_the_54_contract_columns(trained: object) -> None:
    from fraud_detection.features import FEATURES

    booster = trained.booster  # type: ignore[attr-defined]
    assert booster.num_features() == 54 and list(booster.feature_names) == list(FEATURES)
    assert isinstance(pd.Series(booster.get_score()).sum(), float)
