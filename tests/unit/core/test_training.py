from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraud_detection.config import Settings
from fraud_detection.core.features import FEATURES, feature_matrix, validate_frame
from fraud_detection.core.gate import prior_corrected
from fraud_detection.core.recipe import best_f1_threshold
from fraud_detection.core.training import TrainingPart, train, train_parts
from fraud_detection.core.training_batches import FrameRows, WeightedPart, pool_matrix
from fraud_detection.sources.synthetic import generate


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
    # validation keeps the natural rate; no row is dropped: positives are weighted up to 25 %
    assert first.rows["fit_rows"] == 2_400
    # the prior its probabilities behave at: positives were weighted up from ~8 % towards 25 %
    assert 0.08 < first.trained_rate < 0.3
    rate = first.rows["fit_positives"] / first.rows["fit_rows"]
    assert first.positive_weight == pytest.approx((0.25 / 0.75) / (rate / (1 - rate)))
    assert first.rows["validation_positives"] / 600 == pytest.approx(
        pool["TARGET"].mean(), abs=0.01
    )


def test_a_single_class_cannot_be_trained() -> None:
    pool = validate_frame(generate(500, month_index=0, seed=5)[0]).assign(TARGET=0)
    with pytest.raises(ValueError, match="single class"):
        train(pool, Settings().xgb, train_positive_rate=0.25, validation_fraction=0.2, seed=1)


def test_no_threshold_is_cut_on_a_validation_slice_without_fraud() -> None:
    pool = validate_frame(generate(2_000, month_index=0, seed=5)[0])
    # Two frauds in all: the stratified validation slice (20 %) gets none of them.
    few = pd.concat([pool[pool["TARGET"] == 0], pool[pool["TARGET"] == 1][:2]])
    with pytest.raises(ValueError, match=r"validation slice .* single class"):
        train(few, Settings().xgb, train_positive_rate=0.25, validation_fraction=0.2, seed=1)


def test_the_model_takes_the_54_contract_columns(trained: object) -> None:
    from fraud_detection.core.features import FEATURES

    booster = trained.booster  # type: ignore[attr-defined]
    assert booster.num_features() == 54 and list(booster.feature_names) == list(FEATURES)
    assert isinstance(pd.Series(booster.get_score()).sum(), float)


def test_recent_months_weigh_more_and_a_new_pattern_is_learnt() -> None:
    import dataclasses

    from fraud_detection.config import Settings
    from fraud_detection.core.params import TrainingPlan
    from fraud_detection.core.recipe import recency_weight
    from fraud_detection.core.training import TrainingPart, train_parts
    from fraud_detection.sources.synthetic import TRUTH_COLUMN

    assert recency_weight(0, 2) == 1 and recency_weight(2, 2) == 0.5 and recency_weight(9, 0) == 1
    # Given old months without the fraud ring and two recent months with it (pattern "late")
    old = [
        TrainingPart(f"m{i}", validate_frame(generate(3_000, month_index=i, seed=8, id_start=i * 10**6, schedule="late")[0]), 7 - i)
        for i in range(1, 5)
    ]  # fmt: skip
    recent = [
        TrainingPart(f"m{i}", validate_frame(generate(3_000, month_index=i, seed=8, id_start=i * 10**6, schedule="late")[0]), 7 - i)
        for i in (6, 7)
    ]  # fmt: skip
    fresh, truth = generate(20_000, month_index=8, seed=9, schedule="late")
    params = Settings().xgb

    def ring_gap(plan: TrainingPlan) -> float:
        model = train_parts(old + recent, params, plan, seed=1)
        p = model.booster.inplace_predict(feature_matrix(validate_frame(fresh)))
        ring = truth[TRUTH_COLUMN].to_numpy() > 0.5
        return float(p[ring].mean() - p[~ring].mean())

    plan = Settings().training_plan()
    flat = ring_gap(dataclasses.replace(plan, history_half_life=0, correction_rounds=0))
    following = ring_gap(plan)
    # Then the drift-following model separates the new pattern's applicants more sharply
    assert following > flat


def _at_rate(frame: pd.DataFrame, rate: float, seed: int) -> pd.DataFrame:
    """The frame with frauds dropped at random until they make ``rate`` of it."""
    negatives = frame[frame["TARGET"] == 0]
    keep = round(rate / (1 - rate) * len(negatives))
    return pd.concat([negatives, frame[frame["TARGET"] == 1].sample(keep, random_state=seed)])


def test_the_recorded_prior_corrects_the_mean_prediction_to_the_months_fraud_rate() -> None:
    # The case: history at ~8 % fraud, the newest month at 2.5 %.
    base = validate_frame(generate(6_000, month_index=0, seed=8)[0])
    month = _at_rate(validate_frame(generate(10_000, month_index=1, seed=8)[0]), 0.025, 1)
    holdout = _at_rate(validate_frame(generate(10_000, month_index=1, seed=9)[0]), 0.025, 2)
    settings = Settings(
        validation_fraction=0.4, xgb=Settings().xgb.model_copy(update={"n_estimators": 40})
    )
    parts = [TrainingPart("base", base, 2.0), TrainingPart("2025-01", month, 0.0)]
    model = train_parts(parts, settings.xgb, settings.training_plan(), seed=3)
    rate = float(holdout["TARGET"].mean())
    p = model.booster.inplace_predict(feature_matrix(holdout))
    corrected = prior_corrected(p, trained_rate=model.trained_rate, target_rate=rate)
    assert np.mean(corrected) == pytest.approx(rate, rel=0.12)


def test_the_pool_is_streamed_part_by_part_with_its_labels_and_weights() -> None:
    one = validate_frame(generate(700, month_index=0, seed=1)[0])
    two = validate_frame(generate(500, month_index=1, seed=1)[0])
    skipped = validate_frame(generate(300, month_index=2, seed=1)[0])
    parts = [
        WeightedPart(FrameRows(one), 0.5),
        WeightedPart(FrameRows(skipped), 0.0),
        WeightedPart(FrameRows(two), 1.0),
    ]
    with pool_matrix(parts, positive_weight=3.0) as matrix:
        y = np.r_[one["TARGET"], two["TARGET"]]
        assert matrix.num_row() == 1_200 and matrix.num_col() == len(FEATURES)
        assert (matrix.get_label() == y).all()
        expected = np.r_[np.full(700, 0.5), np.ones(500)] * np.where(y == 1, 3.0, 1.0)
        assert np.allclose(matrix.get_weight(), expected)
        assert matrix.feature_names == list(FEATURES)
