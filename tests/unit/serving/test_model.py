"""The serving core in process: the swap, the thread count of a served model, the contract reply."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fraud_detection.core.bands import RiskBands
from fraud_detection.core.features import FEATURES, ContractError, request_records
from fraud_detection.core.records import matrix_from_records
from fraud_detection.core.training import TrainedModel
from fraud_detection.serving.model import LoadedModel, ModelHolder


def _nthread(model: LoadedModel) -> int:
    config = json.loads(model.booster.save_config())
    return int(config["learner"]["generic_param"]["nthread"])


@pytest.mark.parametrize("threads", [1, 2])
def test_a_swapped_in_model_predicts_with_the_configured_threads(
    trained: TrainedModel, threads: int
) -> None:
    model = LoadedModel(trained.booster.copy(), "7", trained.threshold, "mlflow")
    ModelHolder(RiskBands(0.25, 0.45), predict_threads=threads).swap(model)
    assert _nthread(model) == threads


def test_predict_answers_the_contract_in_request_order(
    trained: TrainedModel, month_frame: pd.DataFrame
) -> None:
    holder = ModelHolder(RiskBands(0.25, 0.45))
    holder.swap(LoadedModel(trained.booster.copy(), "7", trained.threshold, "mlflow"))
    records = request_records(month_frame.head(25))

    reply = holder.predict(records)

    expected = trained.booster.inplace_predict(matrix_from_records(records))
    assert reply["model_version"] == "7"
    assert [p["probability"] for p in reply["predictions"]] == [
        round(float(p), 4) for p in expected
    ]
    for prediction, probability in zip(reply["predictions"], expected, strict=True):
        band = "low_risk" if probability < 0.25 else "high_risk" if probability > 0.45 else None
        assert prediction["risk_level"] == (band or "moderate_risk")
        assert prediction["is_fraud"] == bool(probability >= trained.threshold)


def test_a_request_keeps_the_model_it_started_with(
    trained: TrainedModel, month_frame: pd.DataFrame
) -> None:
    holder = ModelHolder(RiskBands(0.25, 0.45))
    old = LoadedModel(trained.booster.copy(), "1", trained.threshold, "mlflow")
    holder.swap(old)
    probabilities, used = holder.probabilities(request_records(month_frame.head(3)))
    holder.swap(LoadedModel(trained.booster.copy(), "2", trained.threshold, "mlflow"))

    assert used is old
    assert holder.current is not None and holder.current.version == "2"
    assert probabilities.dtype == np.float64 and probabilities.shape == (3,)


GENDER = "CODE_GENDER"


@pytest.fixture(scope="module")
def without_gender() -> TrainedModel:
    from tests.support.models import train_small

    return train_small(seed=3, month_index=0, excluded_inputs=(GENDER,))


def test_a_model_without_an_input_still_takes_and_validates_the_whole_contract(
    without_gender: TrainedModel, month_frame: pd.DataFrame
) -> None:
    assert GENDER not in (without_gender.booster.feature_names or FEATURES)
    holder = ModelHolder(RiskBands(0.25, 0.45))
    holder.swap(LoadedModel(without_gender.booster.copy(), "9", without_gender.threshold, "mlflow"))
    records = request_records(month_frame.head(25))
    assert all(GENDER in record for record in records)

    scored = holder.score(records)
    flipped = holder.score([{**r, GENDER: 1 - r[GENDER]} for r in records])

    assert scored.matrix.shape == (25, len(FEATURES))  # the capture keeps every input
    np.testing.assert_array_equal(
        scored.matrix[:, FEATURES.index(GENDER)], [r[GENDER] for r in records]
    )
    assert scored.probabilities.shape == (25,)
    np.testing.assert_array_equal(flipped.probabilities, scored.probabilities)
    with pytest.raises(ContractError, match=GENDER):  # still checked against the contract
        holder.score([{**records[0], GENDER: 2}])
    with pytest.raises(ContractError, match=GENDER):  # and still required
        holder.score([{k: v for k, v in records[0].items() if k != GENDER}])


def test_explain_works_for_a_model_without_an_input_and_never_gives_it_as_a_reason(
    without_gender: TrainedModel, month_frame: pd.DataFrame
) -> None:
    holder = ModelHolder(RiskBands(0.25, 0.45))
    holder.swap(LoadedModel(without_gender.booster.copy(), "9", without_gender.threshold, "mlflow"))
    records = request_records(month_frame.head(20))

    probabilities, found, _ = holder.explain(records, top=54)

    np.testing.assert_array_equal(probabilities, holder.score(records).probabilities)
    named = {r["feature"] for why in found for r in (*why["raising"], *why["lowering"])}
    assert named and GENDER not in named
    for p, why in zip(probabilities, found, strict=True):
        assert 1 / (1 + np.exp(-why["margin"])) == pytest.approx(p, abs=1e-5)


def test_model_lists_the_inputs_used_and_left_out(without_gender: TrainedModel) -> None:
    model = LoadedModel(without_gender.booster.copy(), "9", without_gender.threshold, "mlflow")
    described = model.describe_with_inputs()
    assert described["inputs"]["left_out"] == [GENDER]
    assert described["inputs"]["used"] == [f for f in FEATURES if f != GENDER]
    assert "inputs" not in model.describe()  # /score and /explain stay short
