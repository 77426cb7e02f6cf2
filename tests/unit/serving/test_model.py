"""The serving core in process: the swap, the thread count of a served model, the contract reply."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fraud_detection.core.bands import RiskBands
from fraud_detection.core.features import request_records
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
