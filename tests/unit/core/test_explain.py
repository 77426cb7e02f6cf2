"""Reason codes in process: TreeSHAP contributions add up to the margin, name the features that
made the score, never a feature the model did not learn, and are the same on every call."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from hypothesis import given, settings
from hypothesis import strategies as st

from fraud_detection.config import Settings
from fraud_detection.core.bands import RiskBands
from fraud_detection.core.contract import BY_NAME
from fraud_detection.core.explain import (
    LABELS,
    MAX_REASONS,
    METHODS,
    ImportanceShift,
    contributions,
    importance_shift,
    reasons,
    sigmoid,
)
from fraud_detection.core.features import FEATURES, TARGET_COLUMN, validate_frame
from fraud_detection.core.records import matrix_from_records
from fraud_detection.core.training import TrainedModel, train
from fraud_detection.serving.model import LoadedModel, ModelHolder
from fraud_detection.sources.synthetic import generate
from fraud_detection.steps.report import importance_section
from tests.support.models import train_small
from tests.unit.core.test_contract_properties import PROPERTY, valid_records

FEW = settings(PROPERTY, max_examples=40)  # each example is a TreeSHAP call on a real model

RING_MONTH = 5  # the default schedule's ring is active from month 4 on


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(
        frame.drop(columns=[TARGET_COLUMN]).to_json(orient="records")
    )
    return records


def _margin(booster: xgb.Booster, matrix: np.ndarray) -> np.ndarray:
    return np.asarray(booster.inplace_predict(matrix, predict_type="margin"), dtype=np.float64)


@pytest.fixture(scope="module")
def ring_model() -> TrainedModel:
    return train_small(seed=5, month_index=RING_MONTH)


@FEW
@given(st.lists(valid_records(), min_size=1, max_size=8), st.sampled_from(METHODS))
def test_contributions_plus_the_base_value_are_the_margin(
    trained: TrainedModel, records: list[dict[str, Any]], method: str
) -> None:
    matrix = matrix_from_records(records)  # random valid records, placeholders included
    parts = contributions(trained.booster, matrix, method)
    margin = _margin(trained.booster, matrix)
    assert parts.values.shape == (len(records), len(FEATURES))
    np.testing.assert_allclose(parts.margin, margin, rtol=0, atol=1e-4)
    np.testing.assert_allclose(
        sigmoid(parts.margin), trained.booster.inplace_predict(matrix), atol=1e-5
    )
    for found, total in zip(reasons(parts, matrix, MAX_REASONS), margin, strict=True):
        assert found["margin"] == pytest.approx(total, abs=1e-4)
        assert found["base_probability"] == pytest.approx(sigmoid(parts.base))


def test_reasons_are_the_largest_each_way_with_label_value_and_probability_change(
    trained: TrainedModel, month_frame: pd.DataFrame
) -> None:
    records = _records(month_frame.head(30))
    matrix = matrix_from_records(records)
    parts = contributions(trained.booster, matrix)
    for row, found in enumerate(reasons(parts, matrix, 3)):
        up, down = found["raising"], found["lowering"]
        assert 1 <= len(up) <= 3 and 1 <= len(down) <= 3
        ups = [r["contribution"] for r in up]
        downs = [r["contribution"] for r in down]
        assert ups == sorted(ups, reverse=True) and min(ups) > 0
        assert downs == sorted(downs) and max(downs) < 0
        # the largest three each way of all 54 contributions
        ordered = np.sort(parts.values[row])
        assert ups == pytest.approx(ordered[::-1][: len(up)].tolist())
        assert downs == pytest.approx(ordered[: len(down)].tolist())
        for reason in up + down:
            column = FEATURES.index(reason["feature"])
            assert reason["label"] == LABELS[column]
            assert reason["value"] == pytest.approx(float(matrix[row, column]), rel=1e-6)
            moved = sigmoid(parts.base + reason["contribution"]) - sigmoid(parts.base)
            assert reason["probability_change"] == pytest.approx(moved)
    assert LABELS[FEATURES.index("NAME_CONTRACT_TYPE")] == BY_NAME["NAME_CONTRACT_TYPE"].label


def test_a_ring_like_record_is_flagged_for_the_rings_features(ring_model: TrainedModel) -> None:
    # Given ordinary applicants of a ring month: cash loans, registered years ago
    frame = validate_frame(generate(400, month_index=RING_MONTH, seed=21)[0])
    plain = frame[(frame["NAME_CONTRACT_TYPE"] == 0) & (frame["DAYS_REGISTRATION"] < -3_000)]
    records = _records(plain.head(20))
    # When each is made to look like the ring: a revolving loan, registration changed lately
    ring = [{**r, "NAME_CONTRACT_TYPE": 1, "DAYS_REGISTRATION": -120} for r in records]
    matrix = matrix_from_records(ring)
    found = reasons(contributions(ring_model.booster, matrix), matrix, 4)
    # Then the top reasons raising its score name both of the ring's features
    for why in found:
        named = [r["feature"] for r in why["raising"]]
        assert {"NAME_CONTRACT_TYPE", "DAYS_REGISTRATION"} <= set(named), why["raising"]
    before = ModelHolder(RiskBands(0.25, 0.45))
    before.swap(LoadedModel(ring_model.booster.copy(), "1", ring_model.threshold, "mlflow"))
    assert np.all(before.probabilities(ring)[0] > before.probabilities(records)[0])


def test_a_feature_the_model_never_learnt_is_never_named(month_frame: pd.DataFrame) -> None:
    # Given a model trained on data where nobody gave an e-mail address or owned a car
    absent = ("FLAG_EMAIL", "FLAG_OWN_CAR")
    blind = month_frame.assign(**{name: 0 for name in absent})
    model = train(blind, Settings().xgb, train_positive_rate=0.25, validation_fraction=0.2, seed=4)
    # When records that do carry them are explained, as many reasons as allowed
    records = [{**r, **{name: 1 for name in absent}} for r in _records(month_frame.head(200))]
    matrix = matrix_from_records(records)
    parts = contributions(model.booster, matrix)
    # Then their contributions are exactly 0 and neither is ever a reason
    for name in absent:
        assert np.all(parts.values[:, FEATURES.index(name)] == 0.0)
    named = {
        r["feature"]
        for why in reasons(parts, matrix, MAX_REASONS)
        for r in why["raising"] + why["lowering"]
    }
    assert named and not named & set(absent)


def test_the_same_record_gets_the_same_reasons_on_every_call_and_every_copy(
    trained: TrainedModel, month_frame: pd.DataFrame
) -> None:
    records = _records(month_frame.head(10))
    first = ModelHolder(RiskBands(0.25, 0.45), predict_threads=1)
    first.swap(LoadedModel(trained.booster.copy(), "3", trained.threshold, "mlflow"))
    # another worker: a model loaded from the saved bytes, on two threads
    other = ModelHolder(RiskBands(0.25, 0.45), predict_threads=2)
    loaded = xgb.Booster(model_file=bytearray(trained.booster.save_raw("json")))
    other.swap(LoadedModel(loaded, "3", trained.threshold, "mlflow"))

    p, answer, used = first.explain(records, 4)
    assert used is first.current
    np.testing.assert_array_equal(p, first.probabilities(records)[0])
    for _ in range(3):
        assert first.explain(records, 4)[1] == answer
        assert other.explain(records, 4)[1] == answer
    one_by_one = [first.explain([r], 4)[1][0] for r in records]
    assert one_by_one == answer


def _shift(champion: dict[str, float] | None, challenger: dict[str, float]) -> ImportanceShift:
    def by_feature(values: dict[str, float]) -> tuple[float, ...]:
        return tuple(values.get(name, 0.01) for name in FEATURES)

    return ImportanceShift(by_feature(challenger), champion and by_feature(champion), 1_000)


def test_global_importance_is_the_mean_absolute_contribution_over_the_rows(
    trained: TrainedModel, ring_model: TrainedModel, month_frame: pd.DataFrame
) -> None:
    matrix = matrix_from_records(_records(month_frame.head(300)))
    shift = importance_shift(ring_model.booster, trained.booster, matrix)
    for model, found in ((trained, shift.champion), (ring_model, shift.challenger)):
        parts = contributions(model.booster, matrix).values
        assert found == pytest.approx(np.abs(parts).mean(axis=0).tolist())
    assert shift.rows == 300
    assert importance_shift(ring_model.booster, None, matrix).champion is None
    changes = [abs(s.change) for s in shift.ranked()]
    assert changes == sorted(changes, reverse=True) and len(changes) == len(FEATURES)


def test_the_changes_that_matter_are_told_in_words_first() -> None:
    shift = _shift(
        {"NAME_CONTRACT_TYPE": 0.02, "DAYS_BIRTH": 0.9, "CODE_GENDER": 0.3},
        {"NAME_CONTRACT_TYPE": 0.15, "DAYS_BIRTH": 0.92, "CODE_GENDER": 0.2},
    )
    notable = shift.notable()
    assert [(s.feature, s.degree) for s in notable] == [
        ("NAME_CONTRACT_TYPE", "much more"),
        ("CODE_GENDER", "less"),
    ]  # DAYS_BIRTH moved by 2 %: about as much
    section = importance_section(shift)
    words = section.split("| feature |")[0]
    assert (
        "The challenger relies much more on **revolving loan** (`NAME_CONTRACT_TYPE`) than the "
        "champion did: 0.150 against 0.020." in words
    )
    assert "relies less on **male applicant** (`CODE_GENDER`)" in words
    assert "DAYS_BIRTH" not in words
    assert "| revolving loan | `NAME_CONTRACT_TYPE` | 0.020 | 0.150 | +0.130 |" in section

    same = importance_section(_shift({"DAYS_BIRTH": 0.9}, {"DAYS_BIRTH": 0.95}))
    assert "relies on the same features as the champion did" in same
    alone = importance_section(_shift(None, {"DAYS_BIRTH": 0.9, "FLAG_EMAIL": 0.4}))
    assert "No champion to compare with" in alone and "**age (days)** (`DAYS_BIRTH`)" in alone


def test_every_feature_has_its_own_short_label_from_the_contract_table() -> None:
    assert len(LABELS) == len(FEATURES) and len(set(LABELS)) == len(LABELS)
    assert all(0 < len(label) <= 50 for label in LABELS)
    assert [BY_NAME[name].label for name in FEATURES[:-1]] == list(LABELS[:-1])


def test_the_approximate_method_attributes_differently_from_treeshap_and_nothing_else_is_taken(
    trained: TrainedModel, month_frame: pd.DataFrame
) -> None:
    matrix = matrix_from_records(_records(month_frame.head(50)))
    exact = contributions(trained.booster, matrix)
    approximate = contributions(trained.booster, matrix, "approximate")
    np.testing.assert_allclose(approximate.margin, exact.margin, atol=1e-4)
    assert approximate.base == pytest.approx(exact.base)
    assert not np.allclose(approximate.values, exact.values, atol=1e-3)  # another attribution
    with pytest.raises(ValueError, match="method must be one of"):
        contributions(trained.booster, matrix, "shap")
