"""A model's inputs cut from the full contract matrix by its booster's own feature names: a model
trained without an input never sees it, an old model trained on all 54 keeps working."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraud_detection.core.evaluation import predict_proba
from fraud_detection.core.explain import contributions
from fraud_detection.core.features import FEATURES, feature_matrix
from fraud_detection.core.model_inputs import (
    full_width,
    inputs_in_words,
    inputs_params,
    left_out,
    model_features,
    model_matrix,
    select_features,
    used_features,
)
from fraud_detection.core.training import TrainedModel
from tests.support.models import train_small

GENDER = "CODE_GENDER"


@pytest.fixture(scope="module")
def without_gender() -> TrainedModel:
    return train_small(seed=3, month_index=0, excluded_inputs=(GENDER,))


def test_the_features_left_out_are_dropped_in_contract_order() -> None:
    kept = model_features([GENDER, "DAYS_BIRTH"])
    assert len(kept) == len(FEATURES) - 2
    assert GENDER not in kept and "DAYS_BIRTH" not in kept
    assert list(kept) == [name for name in FEATURES if name in kept]
    assert model_features() == FEATURES
    assert set(left_out(kept)) == {GENDER, "DAYS_BIRTH"}


def test_a_name_outside_the_contract_or_excluding_everything_is_refused() -> None:
    with pytest.raises(ValueError, match="not features of the contract: GENDER"):
        model_features(["GENDER"])
    with pytest.raises(ValueError, match="nothing is left to train on"):
        model_features(FEATURES)


def test_all_54_are_the_matrix_itself_and_fewer_are_the_named_columns() -> None:
    matrix = np.arange(3 * len(FEATURES), dtype=np.float32).reshape(3, len(FEATURES))
    assert select_features(matrix, FEATURES) is matrix
    chosen = select_features(matrix, ["DAYS_BIRTH", GENDER])
    assert chosen.flags.c_contiguous
    np.testing.assert_array_equal(
        chosen, matrix[:, [FEATURES.index("DAYS_BIRTH"), FEATURES.index(GENDER)]]
    )
    spread = full_width(chosen, ["DAYS_BIRTH", GENDER])
    assert spread.shape == matrix.shape
    assert np.count_nonzero(spread[:, FEATURES.index("AMT_CREDIT")]) == 0
    np.testing.assert_array_equal(
        spread[:, FEATURES.index(GENDER)], matrix[:, FEATURES.index(GENDER)]
    )


def test_a_model_trained_without_an_input_never_takes_it(
    without_gender: TrainedModel, month_frame: pd.DataFrame
) -> None:
    booster = without_gender.booster
    assert booster.feature_names is not None and GENDER not in booster.feature_names
    assert booster.num_features() == len(FEATURES) - 1
    assert used_features(booster) == model_features([GENDER])
    full = feature_matrix(month_frame)
    expected = booster.inplace_predict(np.delete(full, FEATURES.index(GENDER), axis=1))
    np.testing.assert_allclose(predict_proba(booster, full), expected, rtol=1e-6)
    flipped = full.copy()
    flipped[:, FEATURES.index(GENDER)] = 1 - flipped[:, FEATURES.index(GENDER)]
    np.testing.assert_array_equal(predict_proba(booster, flipped), predict_proba(booster, full))
    assert inputs_params(booster) == {"inputs_used": "53", "inputs_left_out": GENDER}
    assert inputs_in_words(used_features(booster)) == f"53 of 54 features, leaving out `{GENDER}`"


def test_an_unnamed_model_takes_all_54_by_position(
    trained: TrainedModel, month_frame: pd.DataFrame
) -> None:
    booster = trained.booster.copy()
    booster.feature_names = None
    full = feature_matrix(month_frame)
    assert used_features(booster) == FEATURES
    assert model_matrix(booster, full) is full
    np.testing.assert_allclose(
        predict_proba(booster, full), predict_proba(trained.booster, full), rtol=1e-6
    )
    assert inputs_params(booster)["inputs_left_out"] == "none"


def test_reasons_of_a_model_without_an_input_add_up_and_never_name_it(
    without_gender: TrainedModel, month_frame: pd.DataFrame
) -> None:
    booster = without_gender.booster
    full = feature_matrix(month_frame.head(50))
    parts = contributions(booster, full)
    assert parts.values.shape == (50, len(FEATURES))
    assert not parts.values[:, FEATURES.index(GENDER)].any()
    margin = booster.inplace_predict(model_matrix(booster, full), predict_type="margin")
    np.testing.assert_allclose(parts.margin, margin, atol=1e-4)
