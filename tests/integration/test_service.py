"""The BentoML service as a client sees it: `bentoml serve` subprocesses called over HTTP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from devstack.servers import MlflowServer
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from fraud_detection.core.bands import RiskBands
from fraud_detection.core.contract import NOT_EMPLOYED
from fraud_detection.core.explain import DEFAULT_REASONS, MAX_REASONS
from fraud_detection.core.features import (
    FEATURES,
    INPUT_FEATURES,
    feature_matrix,
    request_records,
    underscore_name,
    validate_frame,
)
from fraud_detection.serving.model import LoadedModel, ModelHolder
from fraud_detection.sources.synthetic import generate
from tests.support.models import register_small, train_small
from tests.support.records import EXAMPLE, client_records
from tests.support.service import BENTOML, PROJECT, BentoServer, get, post, request

pytestmark = pytest.mark.integration
REFRESH_S = 1.0


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A SQLite registry with two versions; champion = v1."""
    data_dir = tmp_path_factory.mktemp("service") / "data"
    settings = Settings(data_dir=data_dir)
    first, second = train_small(1, 0), train_small(2, 6)
    registry = open_registry(settings)
    v1 = register_small(registry, first, "2025-01")
    v2 = register_small(registry, second, "2025-06")
    registry.promote(v1, expected_champion=None)
    return {
        "settings": settings,
        "versions": (v1, v2),
        "models": (first, second),
        "env": {
            "FRAUD_MLFLOW_TRACKING_URI": settings.tracking_uri,
            "FRAUD_REFRESH_INTERVAL_S": str(REFRESH_S),
            "FRAUD_MAX_RECORDS_PER_REQUEST": "50",
        },
    }


@pytest.fixture(scope="module")
def server(
    store: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BentoServer]:
    bento = BentoServer(
        "service.service:FraudDetector",
        store["env"],
        tmp_path_factory.mktemp("bento") / "serve.log",
    )
    try:
        yield bento.start()
    finally:
        bento.stop()


def test_the_original_contract_matches_in_process_scoring(
    server: BentoServer, store: dict[str, Any]
) -> None:
    # Given records as the original's clients send them (TARGET included, both spellings),
    # retirees with the public data's DAYS_EMPLOYED = 365243 among them
    frame, records = client_records(40, seed=7, id_start=50_000_000)
    assert (frame["DAYS_EMPLOYED"] == NOT_EMPLOYED.value).sum() >= 3
    frame = pd.concat([pd.DataFrame([EXAMPLE]), frame], ignore_index=True)
    records = [EXAMPLE, *records]
    booster: xgb.Booster = store["models"][0].booster
    expected = booster.inplace_predict(feature_matrix(validate_frame(frame)))

    # When they are scored over HTTP
    status, body = post(f"{server.url}/predict", {"data": records})
    score_status, scored = post(f"{server.url}/score", {"data": records})

    # Then the answers are the in-process probabilities, in request order, with the original's bands
    assert status == 200 and score_status == 200, (body, scored)
    unrounded = np.array([s["probability"] for s in scored["scores"]])
    assert np.max(np.abs(unrounded - expected)) <= 1e-6
    predictions = body["predictions"]
    assert [p["probability"] for p in predictions] == [round(float(p), 4) for p in expected]
    for p, raw in zip(predictions, expected, strict=True):
        assert set(p) >= {"probability", "risk_level"}
        assert p["risk_level"] == (
            "low_risk" if raw < 0.25 else "high_risk" if raw > 0.45 else "moderate_risk"
        )
    assert body["model_version"] == store["versions"][0]
    status, info = get(f"{server.url}/model")
    assert status == 200 and info["version"] == store["versions"][0] and info["month"] == "2025-01"


def _original_api(model: xgb.XGBClassifier, records: list[dict[str, Any]]) -> np.ndarray:
    """What the original API answered: the records as sent, the ratio added, predict_proba."""
    frame = pd.DataFrame(records)
    frame["CREDIT_TO_INCOME"] = frame["AMT_CREDIT"] / frame["AMT_INCOME_TOTAL"]
    probabilities: np.ndarray = model.predict_proba(frame[list(FEATURES)])[:, 1]
    return probabilities


def test_a_model_registered_with_register_model_answers_not_employed_as_the_original_did(
    tmp_path: Path,
) -> None:
    # Given a model trained elsewhere with the original's recipe on data with the public data's
    # "not employed" placeholder, registered as champion with `fraud-detection register-model`
    train, _ = generate(4_000, month_index=1, seed=31)
    train = train.assign(CREDIT_TO_INCOME=train["AMT_CREDIT"] / train["AMT_INCOME_TOTAL"])
    model = xgb.XGBClassifier(
        n_estimators=40, learning_rate=0.1, max_depth=7, min_child_weight=25, subsample=0.9,
        colsample_bytree=0.6, random_state=1237,
    ).fit(train[list(FEATURES)], train["TARGET"])  # fmt: skip
    model_file = tmp_path / "original.ubj"
    model.save_model(str(model_file))
    env = {
        "FRAUD_DATA_DIR": str(tmp_path / "data"),
        "FRAUD_MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'data' / 'mlflow.db'}",
    }
    registered = subprocess.run(
        [str(Path(BENTOML).parent / "fraud-detection"), "register-model", str(model_file),
         "--alias", "champion"],
        cwd=tmp_path, env={**os.environ, **env}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert registered.returncode == 0, registered.stdout + registered.stderr
    # ... and applications with no employment, alone and among employed ones
    frame, _ = generate(30, month_index=2, seed=32, id_start=70_000_000)
    records = [
        {**EXAMPLE, "DAYS_EMPLOYED": NOT_EMPLOYED.value},
        *request_records(frame),
    ]
    placeholders = [i for i, r in enumerate(records) if r["DAYS_EMPLOYED"] == NOT_EMPLOYED.value]
    assert len(placeholders) >= 4
    expected = _original_api(model, records)
    # (the model does tell the placeholder from a working life: a replaced value would show)
    replaced = [{**r, "DAYS_EMPLOYED": -2_000} for r in records]
    assert np.abs(_original_api(model, replaced) - expected)[placeholders].max() > 1e-3

    # When they are scored by the service following that registry (with a BentoML home of its
    # own: a second `bentoml serve` on the same home clears the module server's metrics files)
    serving_env = {**env, "BENTOML_HOME": str(tmp_path / "bentoml")}
    bento = BentoServer("service.service:FraudDetector", serving_env, tmp_path / "serve.log")
    bento.start()
    try:
        status, body = post(f"{bento.url}/predict", {"data": records})
        score_status, scored = post(f"{bento.url}/score", {"data": records})
        single = [post(f"{bento.url}/predict", {"data": [records[i]]}) for i in placeholders]
    finally:
        bento.stop()

    # Then each is answered, none refused, with exactly the original API's probabilities
    assert status == 200 and score_status == 200, (body, scored)
    assert [p["probability"] for p in body["predictions"]] == [round(float(p), 4) for p in expected]
    unrounded = np.array([s["probability"] for s in scored["scores"]])
    assert np.abs(unrounded - expected).max() <= 1e-6
    assert [answer for answer, _ in single] == [200] * len(placeholders)
    assert [b["predictions"][0]["probability"] for _, b in single] == [
        round(float(expected[i]), 4) for i in placeholders
    ]


def _with(**changes: Any) -> dict[str, Any]:
    record = dict(EXAMPLE)
    for key, value in changes.items():
        if value is ...:
            record.pop(key)
        else:
            record[key] = value
    return record


BAD_REQUESTS = {
    "missing field": ({"data": [_with(AMT_CREDIT=...)]}, "AMT_CREDIT"),
    "wrong type": ({"data": [_with(DAYS_BIRTH="old")]}, "DAYS_BIRTH"),
    "boolean for a number": ({"data": [_with(CNT_CHILDREN=True)]}, "CNT_CHILDREN"),
    "null": ({"data": [_with(AMT_ANNUITY=None)]}, "AMT_ANNUITY"),
    "income zero": ({"data": [_with(AMT_INCOME_TOTAL=0)]}, "AMT_INCOME_TOTAL"),
    "negative income": ({"data": [_with(AMT_INCOME_TOTAL=-5)]}, "AMT_INCOME_TOTAL"),
    "flag out of range": ({"data": [_with(FLAG_EMAIL=2)]}, "FLAG_EMAIL"),
    "negative amount": ({"data": [_with(AMT_CREDIT=-1)]}, "AMT_CREDIT"),
    "unknown field": ({"data": [_with(SALARY=1)]}, "SALARY"),
    "empty list": ({"data": []}, "data"),
    "too many records": ({"data": [EXAMPLE] * 51}, "data"),
    "no data key": ({"rows": [EXAMPLE]}, "data"),
    "record not an object": ({"data": [1, 2]}, "data"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_input_gets_a_4xx_naming_the_field(server: BentoServer, case: str) -> None:
    payload, field = BAD_REQUESTS[case]
    status, body = post(f"{server.url}/predict", payload)
    assert 400 <= status < 500, (status, body)
    assert field in json.dumps(body), body


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"data": [', "json"),
        (b"not json at all", "json"),
        (b'{"data": [{"AMT_CREDIT": NaN}]}', "AMT_CREDIT"),
        (b'{"data": [{"AMT_CREDIT": Infinity}]}', "AMT_CREDIT"),
    ],
)
def test_malformed_bodies_get_a_4xx(server: BentoServer, raw: bytes, field: str) -> None:
    status, body = request(f"{server.url}/predict", raw)
    assert 400 <= status < 500, (status, body)
    assert field.lower() in json.dumps(body).lower(), body


def _is_error_shape(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and set(body) == {"error", "problems"}
        and isinstance(body["error"], str)
        and all(set(p) == {"field", "message"} for p in body["problems"])
    )


# What issue 10 measured against `bentoml serve`; each was a 200 or a 500 before.
MEASURED = {
    "both spellings of one field, another missing": (
        _with(AMT_ANNUITY=..., NAME_FAMILY_STATUS_Single_not_married=0),
        ["AMT_ANNUITY", "missing field", "given twice"],
    ),
    "every family status set": (
        _with(**{c: 1 for c in INPUT_FEATURES if c.startswith("NAME_FAMILY_STATUS_")}),
        ["NAME_FAMILY_STATUS", "more than one level"],
    ),
    "a positive age in days": (_with(DAYS_BIRTH=12_000), ["DAYS_BIRTH"]),
    "10^30 children": (_with(CNT_CHILDREN=10**30), ["CNT_CHILDREN"]),
    "an amount of 1e308": (_with(AMT_CREDIT=1e308), ["AMT_CREDIT"]),
    # Issue 17: the placeholder 365243 is scored; a positive value beside it is still refused
    "a positive DAYS_EMPLOYED other than the placeholder": (
        _with(DAYS_EMPLOYED=365_242),
        ["DAYS_EMPLOYED", "or 365243 (not employed), got 365242"],
    ),
}


@pytest.mark.parametrize("case", list(MEASURED))
@pytest.mark.parametrize("path", ["/predict", "/score"])
def test_what_was_measured_is_now_a_400_naming_the_field(
    server: BentoServer, case: str, path: str
) -> None:
    record, words = MEASURED[case]
    status, body = post(f"{server.url}{path}", {"data": [record]})
    assert status == 400 and _is_error_shape(body), (status, body)
    for word in words:
        assert word in json.dumps(body), (word, body)


@pytest.mark.parametrize("path", ["/predict", "/score"])
@pytest.mark.parametrize("number", ["1" + "0" * 400, "-1" + "0" * 400, "1e400", "-1e400"])
def test_any_json_number_gets_a_4xx_naming_the_field_never_a_500(
    server: BentoServer, path: str, number: str
) -> None:
    body = json.dumps({"data": [_with(AMT_INCOME_TOTAL=0)]}).replace(
        '"AMT_INCOME_TOTAL": 0', f'"AMT_INCOME_TOTAL": {number}'
    )
    status, answer = request(f"{server.url}{path}", body.encode())
    assert status == 400 and _is_error_shape(answer), (status, answer)
    assert [p["field"] for p in answer["problems"]] == ["AMT_INCOME_TOTAL"], answer


@pytest.mark.parametrize("path", ["/predict", "/score"])
@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=x", "text/plain", "application/xml",
     "application/x-www-form-urlencoded"],
)  # fmt: skip
def test_bodies_that_are_not_json_get_a_415(
    server: BentoServer, path: str, content_type: str
) -> None:
    payload = json.dumps({"data": [EXAMPLE]}).encode()
    status, body = request(f"{server.url}{path}", payload, {"Content-Type": content_type})
    assert status == 415 and _is_error_shape(body), (status, body)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"data": 5}', "data"),
        (b'{"rows": []}', "data"),
        (b'{"data": [', "body"),
        (b"", "data"),
        (b'{"data": [1]}', "data.0"),
    ],
)
def test_the_frameworks_own_input_errors_have_the_one_shape(
    server: BentoServer, raw: bytes, field: str
) -> None:
    status, body = request(f"{server.url}/predict", raw)
    assert status == 400 and _is_error_shape(body), (status, body)
    assert field in [p["field"] for p in body["problems"]], body


def test_unknown_paths_and_methods_have_the_one_shape(server: BentoServer) -> None:
    for status, body in (
        get(f"{server.url}/no-such-path"),
        request(f"{server.url}/predict", method="PUT"),
    ):
        assert status in (404, 405) and _is_error_shape(body), (status, body)


def test_swagger_lists_every_field_of_a_record_with_its_domain(server: BentoServer) -> None:
    status, document = get(f"{server.url}/docs.json")
    assert status == 200
    schemas = document["components"]["schemas"]
    record = schemas["Record"]["properties"]
    for name in INPUT_FEATURES:
        assert name in record and underscore_name(name) in record, name
        bounds = record[name] if "anyOf" not in record[name] else record[name]["anyOf"][0]
        assert {"type", "description"} <= set(record[name]), name
        assert {"minimum", "maximum"} <= set(bounds), name
    # DAYS_EMPLOYED: its bounds, or the public data's "not employed" placeholder
    assert record["DAYS_EMPLOYED"]["anyOf"][1] == {"enum": [NOT_EMPLOYED.value]}
    assert "SK_ID_CURR" in record and "TARGET" in record
    request_body = document["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert request_body["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ScoringRequest"
    }
    for path in ("/predict", "/score"):
        responses = document["paths"][path]["post"]["responses"]
        assert {"200", "400", "413", "415"} <= set(responses)
        assert responses["400"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/ErrorResponse"
        )
    assert schemas["PredictResponse"]["properties"]["predictions"]["items"]


def _reasons_of(answer: dict[str, Any]) -> list[list[tuple[str, float]]]:
    return [
        [(r["feature"], r["contribution"]) for r in e["raising"] + e["lowering"]]
        for e in answer["explanations"]
    ]


def test_explain_gives_the_score_and_the_same_reasons_on_every_call_and_worker(
    server: BentoServer, store: dict[str, Any]
) -> None:
    # Given records and the champion's reasons for them computed in process
    _, records = client_records(12, seed=23, id_start=50_000_000)
    records = [EXAMPLE, *records]
    holder = ModelHolder(RiskBands(0.25, 0.45))
    first = store["models"][0]
    holder.swap(LoadedModel(first.booster.copy(), "1", first.threshold, "mlflow"))
    _, expected, _ = holder.explain(records, DEFAULT_REASONS)

    # When they are explained over HTTP many times (a new connection each: both workers answer)
    answers = [post(f"{server.url}/explain", {"data": records}) for _ in range(16)]
    status, scored = post(f"{server.url}/score", {"data": records})

    # Then every answer is the /score answer with the in-process reasons, to the bit
    assert status == 200 and {s for s, _ in answers} == {200}, answers[0]

    def same_everywhere(answer: dict[str, Any]) -> dict[str, Any]:
        # each worker loads the model in its own second: `loaded_at` may differ by one
        return {**answer, "model": {k: v for k, v in answer["model"].items() if k != "loaded_at"}}

    for _, answer in answers:
        assert same_everywhere(answer) == same_everywhere(answers[0][1])
    answer = answers[0][1]
    assert answer["model"]["version"] == scored["model"]["version"] == store["versions"][0]
    for explanation, score, why in zip(
        answer["explanations"], scored["scores"], expected, strict=True
    ):
        assert {k: explanation[k] for k in score} == score
        assert {k: explanation[k] for k in why} == why
        assert 1 <= len(explanation["raising"]) <= DEFAULT_REASONS
        assert {"feature", "label", "value", "contribution", "probability_change"} == set(
            explanation["raising"][0]
        )
    many = post(f"{server.url}/explain", {"data": records[:1], "top": MAX_REASONS})[1]
    assert len(many["explanations"][0]["raising"]) > DEFAULT_REASONS
    assert answer["method"] == "exact"

    # And the approximate attribution, asked for, is the in-process one: same scores, same margin
    _, approximated, _ = holder.explain(records, DEFAULT_REASONS, "approximate")
    status, fast = post(f"{server.url}/explain", {"data": records, "method": "approximate"})
    assert status == 200 and fast["method"] == "approximate", fast
    for explanation, exact, why in zip(
        fast["explanations"], answer["explanations"], approximated, strict=True
    ):
        assert {k: explanation[k] for k in why} == why
        assert explanation["probability"] == exact["probability"]
        assert explanation["margin"] == pytest.approx(exact["margin"], abs=1e-4)


@pytest.mark.parametrize("method", ["", "shap", "Exact", 1, None, ["exact"]])
def test_a_bad_method_gets_a_400_naming_it_in_the_one_shape(
    server: BentoServer, method: Any
) -> None:
    status, body = post(f"{server.url}/explain", {"data": [EXAMPLE], "method": method})
    assert status == 400 and _is_error_shape(body), (status, body)
    assert [p["field"] for p in body["problems"]] == ["method"], body


@pytest.mark.parametrize("top", [0, -1, MAX_REASONS + 1, 2.5, 4.0, "4", True, None, [4]])
def test_a_bad_top_gets_a_400_naming_it_in_the_one_shape(server: BentoServer, top: Any) -> None:
    status, body = post(f"{server.url}/explain", {"data": [EXAMPLE], "top": top})
    assert status == 400 and _is_error_shape(body), (status, body)
    assert [p["field"] for p in body["problems"]] == ["top"], body


def test_explain_is_documented_with_contributions_adding_up_to_the_margin(
    server: BentoServer,
) -> None:
    document = get(f"{server.url}/docs.json")[1]
    route = document["paths"]["/explain"]["post"]
    assert "contributions of all 54 features plus `base_value` equal" in route["description"]
    assert {"200", "400", "413", "415"} <= set(route["responses"])
    top = document["components"]["schemas"]["ExplainRequest"]["properties"]["top"]
    assert (top["minimum"], top["maximum"], top["default"]) == (1, MAX_REASONS, DEFAULT_REASONS)
    method = document["components"]["schemas"]["ExplainRequest"]["properties"]["method"]
    assert (method["enum"], method["default"]) == (["exact", "approximate"], "exact")
    reason = document["components"]["schemas"]["Reason"]["properties"]
    assert {"feature", "label", "value", "contribution", "probability_change"} <= set(reason)


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    server: BentoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every check of schemathesis, >= 1000 cases over the operations of /docs.json."""
    config = tmp_path / "schemathesis.toml"
    # 413 (more records than FRAUD_MAX_RECORDS_PER_REQUEST) is a rejection too.
    config.write_text(
        "[checks.negative_data_rejection]\n"
        'expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415",'
        ' "422", "428", "429"]\n'
    )
    command = [
        str(Path(BENTOML).parent / "st"),
        "--config-file",
        str(config),
        "run",
        f"{server.url}/docs.json",
        "--checks",
        "all",
        "--max-examples",
        "150",
        "--workers",
        "1",
        "--seed",
        "10",
        "--no-color",
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.support.schemathesis_hooks",
        "PYTHONPATH": str(PROJECT),
    }
    run = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )
    output = run.stdout + run.stderr
    generated = re.search(r"(\d+) generated", output)
    with capsys.disabled():
        print(f"\nschemathesis: {generated.group(0) if generated else '?'} cases")
    assert run.returncode == 0 and "No issues found" in output, output[-6000:]
    assert generated is not None and int(generated.group(1)) >= 1000, output[-2000:]


def test_health_endpoints(server: BentoServer) -> None:
    assert get(f"{server.url}/livez")[0] == 200
    assert get(f"{server.url}/readyz")[0] == 200
    status, metrics = get(f"{server.url}/metrics")
    assert status == 200 and "bentoml" in str(metrics)


def _predict_count(server: BentoServer) -> float:
    metrics = str(get(f"{server.url}/metrics")[1])
    found = re.search(
        r'bentoml_service_request_total\{endpoint="/predict",http_response_code="200"[^}]*\} (\S+)',
        metrics,
    )
    return float(found.group(1)) if found else 0.0


def test_scoring_is_counted_in_metrics_but_not_written_to_the_access_log(
    server: BentoServer,
) -> None:
    before = _predict_count(server)
    for _ in range(3):
        assert post(f"{server.url}/predict", {"data": [EXAMPLE]})[0] == 200
    assert get(f"{server.url}/model")[0] == 200

    assert _predict_count(server) == before + 3
    deadline = time.monotonic() + 5
    while "path=/model" not in server.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = server.log.read_text()
    assert "path=/model" in log and "path=/predict" not in log


def test_an_api_key_guards_scoring_but_not_health(store: dict[str, Any], tmp_path: Path) -> None:
    key = "test-key-" + "x" * 20
    guarded = BentoServer(
        "service.service:FraudDetector",
        {**store["env"], "FRAUD_API_KEY": key},
        tmp_path / "serve.log",
    ).start()
    try:
        payload = {"data": [EXAMPLE]}
        assert post(f"{guarded.url}/predict", payload)[0] == 401
        assert post(f"{guarded.url}/predict", payload, {"X-API-Key": "wrong"})[0] == 401
        assert get(f"{guarded.url}/model")[0] == 401
        assert post(f"{guarded.url}/explain", payload)[0] == 401
        assert post(f"{guarded.url}/explain", payload, {"X-API-Key": key})[0] == 200
        assert post(f"{guarded.url}/predict", payload, {"X-API-Key": key})[0] == 200
        assert post(f"{guarded.url}/predict", payload, {"Authorization": f"Bearer {key}"})[0] == 200
        assert get(f"{guarded.url}/livez")[0] == 200 and get(f"{guarded.url}/readyz")[0] == 200
        assert key not in (tmp_path / "serve.log").read_text()
    finally:
        guarded.stop()


def test_a_promotion_is_served_without_restart_or_failed_request(
    server: BentoServer, store: dict[str, Any]
) -> None:
    # Given a client sending requests continuously
    v1, v2 = store["versions"]
    payload = {"data": [EXAMPLE]}
    seen: list[tuple[float, int, str | None]] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            status, body = post(f"{server.url}/predict", payload)
            seen.append(
                (time.monotonic(), status, body.get("model_version") if status == 200 else None)
            )

    thread = threading.Thread(target=client)
    thread.start()
    try:
        time.sleep(0.5)
        # When champion moves to v2
        open_registry(store["settings"]).promote(v2, expected_champion=v1)
        promoted_at = time.monotonic()
        # Each worker follows the alias on its own: keep sending past the bound to see them all.
        time.sleep(REFRESH_S + 3)
    finally:
        stop.set()
        thread.join()
        open_registry(store["settings"]).promote(
            v1, expected_champion=v2
        )  # leave v1 for the other tests

    # Then every request succeeded, and from interval + 2 s on every answer came from v2
    assert seen and all(status == 200 for _, status, _ in seen), [s for s in seen if s[1] != 200][
        :3
    ]
    assert any(v == v1 for t, _, v in seen if t < promoted_at)
    after = [v for t, _, v in seen if t > promoted_at + REFRESH_S + 2]
    assert after and all(v == v2 for v in after), sorted(set(after))


def test_requests_are_answered_with_the_last_model_while_mlflow_is_down(tmp_path: Path) -> None:
    # Given a service following a real MLflow server
    mlflow = MlflowServer("mlflow", tmp_path / "mlflow").start()
    bento = None
    try:
        settings = Settings(data_dir=tmp_path / "data", mlflow_tracking_uri=mlflow.url)
        version = register_small(open_registry(settings), train_small(3, 1), "2025-02")
        open_registry(settings).promote(version, expected_champion=None)
        bento = BentoServer(
            "service.service:FraudDetector",
            {"FRAUD_MLFLOW_TRACKING_URI": mlflow.url, "FRAUD_REFRESH_INTERVAL_S": "0.5"},
            tmp_path / "serve.log",
        ).start()
        assert post(f"{bento.url}/predict", {"data": [EXAMPLE]})[1]["model_version"] == version

        # When the tracking server goes away
        mlflow.stop()
        time.sleep(2)  # several failed refreshes

        # Then requests are still answered by the model it had, and it stays ready
        for _ in range(5):
            status, body = post(f"{bento.url}/predict", {"data": [EXAMPLE]})
            assert status == 200 and body["model_version"] == version
        assert get(f"{bento.url}/readyz")[0] == 200
        deadline = time.monotonic() + 30
        while "champion refresh failed" not in (tmp_path / "serve.log").read_text():
            assert time.monotonic() < deadline, "no warning about the unreachable registry"
            time.sleep(0.5)
    finally:
        if bento is not None:
            bento.stop()
        mlflow.stop()


def test_a_built_bento_serves_its_bundled_model_without_mlflow(
    store: dict[str, Any], tmp_path: Path
) -> None:
    # Given the champion imported into a fresh BentoML store and a bento built from bentofile.yaml
    inherited = {
        k: v for k, v in os.environ.items() if not k.startswith(("FRAUD_", "MLFLOW_TRACKING"))
    }
    env = {
        **inherited,
        "BENTOML_HOME": str(tmp_path / "bentoml"),
        "BENTOML_DO_NOT_TRACK": "true",
        "PATH": f"{Path(BENTOML).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
    }
    imported = subprocess.run(
        [str(Path(BENTOML).parent / "fraud-detection"), "bento", "import-champion"],
        cwd=PROJECT,
        env={**env, "FRAUD_MLFLOW_TRACKING_URI": store["settings"].tracking_uri},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert imported.returncode == 0, imported.stderr[-2000:]
    built = subprocess.run(
        [BENTOML, "build", "--output", "tag"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    tag = built.stdout.strip().splitlines()[-1].removeprefix("__tag__:")

    # When it is served exactly as its container would, with no MLflow configured
    bento = BentoServer(tag, env, tmp_path / "serve.log").start()
    try:
        status, body = post(f"{bento.url}/predict", {"data": [EXAMPLE]})
        info = get(f"{bento.url}/model")[1]
    finally:
        bento.stop()

    # Then it answers with the bundled champion
    assert status == 200 and body["model_version"] == store["versions"][0]
    assert info["source"] == "bundle"
    expected = store["models"][0].booster.inplace_predict(
        feature_matrix(validate_frame(pd.DataFrame([EXAMPLE])))
    )
    assert body["predictions"][0]["probability"] == round(float(expected[0]), 4)
