"""The BentoML service: serves the registry's ``champion`` (or a bundled one) over HTTP.

Thin shell: feature handling, scoring and model following live in ``fraud_detection``.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from http import HTTPStatus
from pathlib import Path
from typing import Any

import bentoml
from fastapi import FastAPI
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from fraud_detection.config import Settings, get_settings
from fraud_detection.features import ContractError, RiskBands
from fraud_detection.serving import ChampionFollower, LoadedModel, ModelHolder, load_bundle

BUNDLED_MODEL = "fraud-detector"
SCORING_PATHS = ("/predict", "/score")
PROTECTED_PATHS = (*SCORING_PATHS, "/model")
logger = logging.getLogger("fraud_detection.service")
info_app = FastAPI(title="fraud-detection model info")


def _json(payload: dict[str, Any]) -> Response:
    """Encoded here: BentoML's generic output path rebuilds a JSON schema on every request."""
    return Response(json.dumps(payload).encode(), media_type="application/json")


def _error(
    status: HTTPStatus, message: str, problems: list[dict[str, str]] | None = None
) -> JSONResponse:
    return JSONResponse({"error": message, "problems": problems or []}, status_code=status)


class ApiKeyMiddleware:
    """When FRAUD_API_KEY is set, scoring and model info need it; health and metrics stay open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        key = get_settings().api_key
        self.key = key.get_secret_value().encode() if key else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.key is None
            or scope["type"] != "http"
            or not scope["path"].startswith(PROTECTED_PATHS)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-api-key", b"")
        bearer = headers.get(b"authorization", b"")
        if bearer.lower().startswith(b"bearer "):
            given = bearer[7:].strip()
        if not hmac.compare_digest(given, self.key):
            response = _error(
                HTTPStatus.UNAUTHORIZED,
                "missing or wrong API key (X-API-Key or Authorization: Bearer)",
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _bundled_model() -> LoadedModel | None:
    """The champion imported into the bento at build time, if this bento carries one."""
    try:
        model = bentoml.models.get(f"{BUNDLED_MODEL}:latest")
    except bentoml.exceptions.NotFound:
        return None
    return load_bundle(Path(model.path))


@bentoml.service(
    name="fraud-detection",
    # One process per core (cgroup-aware): a worker's event loop is single-threaded, and one
    # thread per prediction keeps each worker on its core.
    workers="cpu_count",
    traffic={"timeout": 30},
    # Per-request spans (sampled or not) and access-log lines cost a one-record request more than
    # the model does; scoring is counted and timed by /metrics instead. README, "Observability",
    # shows how to turn both back on.
    tracing={"excluded_urls": list(SCORING_PATHS)},
    logging={"access": {"skip_paths": list(SCORING_PATHS)}},
)
@bentoml.asgi_app(info_app, path="/")
class FraudDetector:
    def __init__(self) -> None:
        # A registry poll must fail fast when MLflow is down (its client retries for minutes).
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        logging.getLogger("fraud_detection").setLevel(logging.INFO)
        self.settings: Settings = get_settings()
        self.holder = ModelHolder(
            RiskBands(self.settings.risk_low, self.settings.risk_high),
            self.settings.predict_threads,
        )
        bundled = _bundled_model()
        if bundled is not None:
            self.holder.swap(bundled)
            logger.info("serving the bundled model, version %s", bundled.version)
        self.follower: ChampionFollower | None = None
        # A configured MLflow wins over the bundle; with neither, the default (local) registry.
        if self.settings.mlflow_tracking_uri or bundled is None:
            self.follower = ChampionFollower(self.settings, self.holder)
            self.follower.refresh()
            self.follower.start()

    def __is_ready__(self) -> bool:
        return self.holder.current is not None

    def _check(self, data: list[dict[str, Any]]) -> JSONResponse | None:
        if self.holder.current is None:
            return _error(HTTPStatus.SERVICE_UNAVAILABLE, "no model loaded yet")
        if not data:
            return _error(
                HTTPStatus.BAD_REQUEST,
                "'data' must hold at least one record",
                [{"field": "data", "message": "empty list"}],
            )
        if len(data) > self.settings.max_records_per_request:
            return _error(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"at most {self.settings.max_records_per_request} records per request, got {len(data)}",
                [{"field": "data", "message": "too many records"}],
            )
        return None

    @staticmethod
    def _contract_error(error: ContractError) -> JSONResponse:
        problems = [{"field": p.column, "message": p.message} for p in error.problems]
        return _error(HTTPStatus.BAD_REQUEST, str(error), problems)

    @bentoml.api(route="/predict")
    async def predict(self, data: list[dict[str, Any]]) -> Any:
        """The original contract: {"data": [record, …]} → {"predictions": [{probability, risk_level}, …]}."""
        if (problem := self._check(data)) is not None:
            return problem
        try:
            return _json(self.holder.predict(data))
        except ContractError as error:
            return self._contract_error(error)

    @bentoml.api(route="/score")
    async def score(self, data: list[dict[str, Any]]) -> Any:
        """Unrounded probabilities, the model's own decision and which model answered."""
        if (problem := self._check(data)) is not None:
            return problem
        try:
            probabilities, model = self.holder.probabilities(data)
        except ContractError as error:
            return self._contract_error(error)
        level = self.holder.bands.level
        scores = [
            {"probability": p, "risk_level": level(p), "is_fraud": p >= model.threshold}
            for p in probabilities.tolist()
        ]
        return _json({"scores": scores, "model": model.describe()})

    @info_app.get("/model")
    def model(self) -> Any:
        """The model being served: version, run, month, threshold, metrics, when it was loaded."""
        current = self.holder.current
        if current is None:
            return _error(HTTPStatus.SERVICE_UNAVAILABLE, "no model loaded yet")
        return current.describe()


FraudDetector.add_asgi_middleware(ApiKeyMiddleware)
