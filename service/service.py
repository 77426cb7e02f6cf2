"""The BentoML service: serves the registry's ``champion`` (or a bundled one) over HTTP.

Thin shell: feature handling, scoring and model following live in ``fraud_detection``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from http import HTTPStatus
from pathlib import Path
from typing import Any

import bentoml
from fastapi import FastAPI
from starlette.responses import JSONResponse, Response

from fraud_detection.config import Settings, get_settings, settings_problem
from fraud_detection.core.explain import DEFAULT_REASONS, MAX_REASONS, METHODS
from fraud_detection.core.features import ContractError
from fraud_detection.serving.bundle import load_bundle
from fraud_detection.serving.capture import Capture
from fraud_detection.serving.follower import ChampionFollower
from fraud_detection.serving.model import LoadedModel, ModelHolder, Scored
from service.capture import RequestTallyMiddleware, capture_degraded, open_capture
from service.card import served_card
from service.middleware import SCORING_PATHS, ApiKeyMiddleware, ContractMiddleware, error_response

# Settings that cannot be used (a blank FRAUD_API_KEY, say) stop `bentoml serve` here, before it
# listens, in one line: otherwise it stays up answering every request, /livez too, with a 500.
if (_problem := settings_problem()) is not None:
    sys.exit(f"error: the fraud-detection service cannot start: {_problem}")

BUNDLED_MODEL = "fraud-detector"
logger = logging.getLogger("fraud_detection.service")
info_app = FastAPI(title="fraud-detection model info")


def _json(payload: dict[str, Any]) -> Response:
    """Encoded here: BentoML's generic output path rebuilds a JSON schema on every request."""
    return Response(json.dumps(payload).encode(), media_type="application/json")


def _top_problem(top: Any) -> JSONResponse | None:
    """A 400 naming ``top`` unless it is a whole number of reasons within the maximum."""
    if type(top) is int and 1 <= top <= MAX_REASONS:  # exact type: true and 4.0 are refused
        return None
    rule = f"must be a whole number from 1 to {MAX_REASONS}"
    shown = json.dumps(top)
    shown = shown if len(shown) <= 40 else shown[:40] + "…"
    return error_response(
        HTTPStatus.BAD_REQUEST, f"'top' {rule}, got {shown}", [{"field": "top", "message": rule}]
    )


def _method_problem(method: Any) -> JSONResponse | None:
    """A 400 naming ``method`` unless it is one of the ways contributions are computed."""
    if isinstance(method, str) and method in METHODS:
        return None
    rule = "must be one of " + ", ".join(f"'{m}'" for m in METHODS)
    shown = json.dumps(method)
    shown = shown if len(shown) <= 40 else shown[:40] + "…"
    return error_response(
        HTTPStatus.BAD_REQUEST,
        f"'method' {rule}, got {shown}",
        [{"field": "method", "message": rule}],
    )


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
    # the model does; scoring is counted and timed by /metrics instead. docs/serving.md ("Observability")
    # shows how to turn both back on.
    tracing={"excluded_urls": list(SCORING_PATHS)},
    logging={"access": {"skip_paths": list(SCORING_PATHS)}},
)
@bentoml.asgi_app(info_app, path="/")
class FraudDetector:
    """The prediction service: serves the registry's champion (or the bundled one), follows
    each new champion without a restart, and answers every bad request with a 4xx naming the
    field."""

    def __init__(self) -> None:
        # A registry poll must fail fast when MLflow is down (its client retries for minutes).
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        logging.getLogger("fraud_detection").setLevel(logging.INFO)
        self.settings: Settings = get_settings()
        self.holder = ModelHolder(
            self.settings.risk_bands(),
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
        # Every score is kept in the lake's scored/, written off the request path.
        self.capture: Capture | None = None
        if self.settings.capture_enabled:
            self.capture = open_capture(self.settings)

    def __is_ready__(self) -> bool:
        """A model is loaded, and the capture keeps up (batches do not pile up in the spill
        folder: see capture_degraded_spill_files)."""
        return self.holder.current is not None and not capture_degraded(self.capture)

    @bentoml.on_shutdown
    def _stop_following(self) -> None:
        if self.follower is not None:
            self.follower.stop()  # no registry poll while the worker shuts down
        if self.capture is not None:
            # what is buffered goes to the lake (or waits in the spill folder)
            self.capture.close(self.settings.capture_close_timeout_s)

    def _capture(self, scored: Scored, endpoint: str) -> None:
        if self.capture is not None:
            self.capture.record(scored, endpoint)

    def _check(self, data: list[dict[str, Any]]) -> JSONResponse | None:
        if self.holder.current is None:
            return error_response(HTTPStatus.SERVICE_UNAVAILABLE, "no model loaded yet")
        if self.follower is not None and self.follower.suspension is not None:
            return error_response(HTTPStatus.SERVICE_UNAVAILABLE, self.follower.suspension.message)
        if not data:
            return error_response(
                HTTPStatus.BAD_REQUEST,
                "'data' must hold at least one record",
                [{"field": "data", "message": "empty list"}],
            )
        if len(data) > self.settings.max_records_per_request:
            return error_response(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"at most {self.settings.max_records_per_request} records per request, got {len(data)}",
                [{"field": "data", "message": "too many records"}],
            )
        return None

    @staticmethod
    def _contracterror_response(error: ContractError) -> JSONResponse:
        problems = [{"field": p.column, "message": p.message} for p in error.problems]
        return error_response(HTTPStatus.BAD_REQUEST, str(error), problems)

    @bentoml.api(route="/predict")
    async def predict(self, data: list[dict[str, Any]]) -> Any:
        """The original contract: {"data": [record, …]} → {"predictions": [{probability, risk_level}, …]}."""
        if (problem := self._check(data)) is not None:
            return problem
        try:
            scored = self.holder.score(data)
        except ContractError as error:
            return self._contracterror_response(error)
        self._capture(scored, "/predict")
        return _json(self.holder.answer(scored))

    @bentoml.api(route="/score")
    async def score(self, data: list[dict[str, Any]]) -> Any:
        """Unrounded probabilities, the model's own decision and which model answered."""
        if (problem := self._check(data)) is not None:
            return problem
        try:
            scored = self.holder.score(data)
        except ContractError as error:
            return self._contracterror_response(error)
        self._capture(scored, "/score")
        model, level = scored.model, self.holder.bands.level
        scores = [
            {"probability": p, "risk_level": level(p), "is_fraud": p >= model.threshold}
            for p in scored.probabilities.tolist()
        ]
        return _json({"scores": scores, "model": model.describe()})

    @bentoml.api(route="/explain")
    async def explain(
        self, data: list[dict[str, Any]], top: Any = DEFAULT_REASONS, method: Any = "exact"
    ) -> Any:
        """The /score answer of each record with its top reasons: the features that raised its
        score most and those that lowered it most (TreeSHAP contributions, log-odds, unless
        ``method`` asks for the approximate ones)."""
        problem = self._check(data) or _top_problem(top) or _method_problem(method)
        if problem is not None:
            return problem
        try:
            scored, found = self.holder.explain_scored(data, top, method)
        except ContractError as error:
            return self._contracterror_response(error)
        self._capture(scored, "/explain")  # an explained score is a score given: kept as one
        probabilities, model = scored.probabilities, scored.model
        level = self.holder.bands.level
        explanations = [
            {"probability": p, "risk_level": level(p), "is_fraud": p >= model.threshold, **why}
            for p, why in zip(probabilities.tolist(), found, strict=True)
        ]
        return _json({"explanations": explanations, "method": method, "model": model.describe()})

    @info_app.get("/model")
    def model(self) -> Any:
        """The model being served: version, run, month, threshold, metrics, when it was loaded,
        the inputs it uses and those it leaves out."""
        current = self.holder.current
        if current is None:
            return error_response(HTTPStatus.SERVICE_UNAVAILABLE, "no model loaded yet")
        return current.describe_with_inputs()

    @info_app.get("/model/card")
    def card(self) -> Any:
        """The served version's model card (docs/review.md): markdown and its parts as JSON."""
        current = self.holder.current
        if current is None:
            return error_response(HTTPStatus.SERVICE_UNAVAILABLE, "no model loaded yet")
        try:
            found = served_card(self.settings, current.version)
        except Exception as exc:  # a bundled model with no registry to read the card from
            logger.warning("model card of version %s unavailable: %s", current.version, exc)
            return error_response(
                HTTPStatus.SERVICE_UNAVAILABLE, "the model card cannot be read now"
            )
        return _json({**found.as_dict(), "markdown": found.markdown()})


# @bentoml.service returns a Service object the type checker sees as the decorated class.
FraudDetector.add_asgi_middleware(RequestTallyMiddleware)  # type: ignore[attr-defined]
FraudDetector.add_asgi_middleware(ApiKeyMiddleware)  # type: ignore[attr-defined]
FraudDetector.add_asgi_middleware(ContractMiddleware)  # type: ignore[attr-defined]
