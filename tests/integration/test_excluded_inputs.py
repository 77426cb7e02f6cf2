"""A champion trained without an input (FRAUD_EXCLUDED_INPUTS) behind `bentoml serve`: clients
keep sending the whole contract, which is still validated; the model never sees the input;
/explain never gives it as a reason and /model says it is left out."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from fraud_detection.core.evaluation import predict_proba
from fraud_detection.core.features import FEATURES, feature_matrix, validate_frame
from fraud_detection.core.training import TrainedModel
from tests.support.models import register_small, train_small
from tests.support.records import client_records
from tests.support.service import BentoServer, get, post

pytestmark = pytest.mark.integration
GENDER = "CODE_GENDER"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BentoServer, TrainedModel]]:
    """The service with a champion trained without CODE_GENDER."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("excluded") / "data")
    trained = train_small(1, 0, excluded_inputs=(GENDER,))
    registry = open_registry(settings)
    registry.promote(register_small(registry, trained, "2025-01"), expected_champion=None)
    bento = BentoServer(
        "service.service:FraudDetector",
        {"FRAUD_MLFLOW_TRACKING_URI": settings.tracking_uri},
        tmp_path_factory.mktemp("bento") / "serve.log",
    )
    try:
        yield bento.start(), trained
    finally:
        bento.stop()


def test_requests_carrying_the_left_out_input_are_validated_and_scored_without_it(
    served: tuple[BentoServer, TrainedModel],
) -> None:
    server, trained = served
    frame, records = client_records(20, seed=31, id_start=60_000_000)
    assert all(GENDER in r for r in records)
    expected = predict_proba(trained.booster, feature_matrix(validate_frame(frame)))

    status, scored = post(f"{server.url}/score", {"data": records})
    flipped = [{**r, GENDER: 1 - r[GENDER]} for r in records]
    flipped_status, flipped_scored = post(f"{server.url}/score", {"data": flipped})
    refused_status, refused = post(f"{server.url}/score", {"data": [{**records[0], GENDER: 2}]})

    assert status == 200 and flipped_status == 200, (scored, flipped_scored)
    probabilities = [s["probability"] for s in scored["scores"]]
    assert np.max(np.abs(np.array(probabilities) - expected)) <= 1e-6
    assert probabilities == [s["probability"] for s in flipped_scored["scores"]]
    assert refused_status == 400 and GENDER in str(refused), refused


def test_explain_and_model_for_a_model_without_the_input(
    served: tuple[BentoServer, TrainedModel],
) -> None:
    server, _ = served
    _, records = client_records(10, seed=37, id_start=61_000_000)

    status, answer = post(f"{server.url}/explain", {"data": records, "top": 10})
    info_status, info = get(f"{server.url}/model")

    assert status == 200, answer
    named = {r["feature"] for e in answer["explanations"] for r in e["raising"] + e["lowering"]}
    assert named and GENDER not in named
    assert info_status == 200
    assert info["inputs"] == {"used": [f for f in FEATURES if f != GENDER], "left_out": [GENDER]}
