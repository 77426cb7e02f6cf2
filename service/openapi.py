"""The service's OpenAPI document (served at ``/docs.json``, shown by Swagger UI at ``/docs``).

The request schema is derived from the contract table (``fraud_detection.core.contract``): every field
in both spellings with its bounds and meaning, "exactly one spelling" of each field and "at most
one level" of each one-hot group, so that a request the schema admits is a request the service
accepts. Responses and the one error shape are the pydantic models of service/schemas.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from fraud_detection.core.explain import DEFAULT_REASONS, MAX_REASONS, METHODS
from service.record_schema import record_schema
from service.schemas import (
    ErrorResponse,
    ExplainResponse,
    ModelDetails,
    PredictResponse,
    ScoreResponse,
)

REF = "#/components/schemas/{model}"
JSON = "application/json"
TEXT = "text/plain"


def _component(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template=REF)
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema
    return {"$ref": REF.format(model=model.__name__)}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {JSON: {"schema": {"$ref": REF.format(model="ErrorResponse")}}},
    }


def _text(description: str) -> dict[str, Any]:
    return {"description": description, "content": {TEXT: {"schema": {"type": "string"}}}}


def _scoring_request(max_records: int) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["data"],
        "description": "Other top-level keys are ignored.",
        "properties": {
            "data": {
                "type": "array",
                "items": {"$ref": REF.format(model="Record")},
                "minItems": 1,
                "maxItems": max_records,
                "description": f"1 to {max_records} records (FRAUD_MAX_RECORDS_PER_REQUEST)",
            }
        },
    }


def _explain_request(max_records: int) -> dict[str, Any]:
    request = _scoring_request(max_records)
    request["properties"]["top"] = {
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_REASONS,
        "default": DEFAULT_REASONS,
        "description": f"how many reasons each way, 1 to {MAX_REASONS} (default {DEFAULT_REASONS})",
    }
    request["properties"]["method"] = {
        "type": "string",
        "enum": list(METHODS),
        "default": "exact",
        "description": "'exact' (TreeSHAP, the default) or 'approximate' (XGBoost's per-path "
        "attribution: also adds up to the margin, may rank features differently, about as fast "
        "as /score; for triage of large batches, not for the reasons given to an applicant)",
    }
    return request


@dataclass(frozen=True)
class _Paths:
    """The paths of the document for one configuration: the record limit, a key or none."""

    max_records: int
    api_key: bool

    @property
    def guarded(self) -> dict[str, Any]:
        return {"security": [{"ApiKey": []}, {"Bearer": []}]} if self.api_key else {}

    @property
    def refusals(self) -> dict[str, Any]:
        """401 when a key is configured, 503 before a model is loaded."""
        auth = {"401": _error("missing or wrong API key")} if self.api_key else {}
        return {**auth, "503": _error("no model loaded yet")}

    def scoring(
        self,
        summary: str,
        description: str,
        response: dict[str, str],
        name: str,
        request: str = "ScoringRequest",
    ) -> dict[str, Any]:
        """A POST route that takes a scoring request (the one body of /predict and /score; the
        same with ``top`` for /explain)."""
        return {
            "post": {
                "summary": summary,
                "description": description,
                "operationId": name,
                "tags": ["scoring"],
                **self.guarded,
                "requestBody": {
                    "required": True,
                    "content": {JSON: {"schema": {"$ref": REF.format(model=request)}}},
                },
                "responses": {
                    "200": {
                        "description": "one answer per record, in order",
                        "content": {JSON: {"schema": response}},
                    },
                    "400": _error(
                        "malformed JSON, or a record that breaks the contract (each field named)"
                        + (
                            "; a 'top' that is not a whole number in range"
                            if request != "ScoringRequest"
                            else ""
                        )
                    ),
                    "404": _error("no such path"),
                    "405": _error("method not allowed"),
                    "413": _error(f"more than {self.max_records} records"),
                    "415": _error("a body that is not application/json"),
                    **self.refusals,
                },
            }
        }

    def model(self, model_info: dict[str, str]) -> dict[str, Any]:
        return {
            "get": {
                "summary": "The model being served",
                "operationId": "model",
                "tags": ["scoring"],
                **self.guarded,
                "responses": {
                    "200": {
                        "description": "version, run, month, threshold, metrics, inputs used",
                        "content": {JSON: {"schema": model_info}},
                    },
                    **self.refusals,
                },
            }
        }

    def card(self) -> dict[str, Any]:
        return {
            "get": {
                "summary": "The served version's model card (docs/review.md)",
                "operationId": "model_card",
                "tags": ["scoring"],
                **self.guarded,
                "responses": {
                    "200": {
                        "description": "version, summary, sections (title → markdown), groups "
                        "(attribute, level, figures), markdown",
                        "content": {JSON: {"schema": {"type": "object"}}},
                    },
                    **self.refusals,
                },
            }
        }

    @staticmethod
    def health(summary: str, ready: bool = False) -> dict[str, Any]:
        responses = {"200": _text("yes")}
        if ready:
            responses["503"] = _text("not (yet)")
        return {"get": {"summary": summary, "tags": ["infrastructure"], "responses": responses}}


SECURITY_SCHEMES = {
    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "Bearer": {"type": "http", "scheme": "bearer"},
}


EXPLAIN_DESCRIPTION = (
    "The same input (and `top`, reasons each way, default "
    f"{DEFAULT_REASONS}); each record's probability, risk level and decision as "
    "/score gives them, with the features that raised its score most and those that "
    "lowered it most. Each reason's contribution is in log-odds (XGBoost's exact "
    "TreeSHAP): the contributions of all 54 features plus `base_value` equal the "
    "record's `margin`, whose sigmoid is its probability; `probability_change` is "
    "what that contribution alone does to the base probability. A feature the model "
    'does not use contributes 0 and is never named. `method: "approximate"` '
    "gives XGBoost's per-path attribution instead, as fast as /score and adding up "
    "to the margin too, but it may rank features differently: for triage of large "
    "batches, not for the reasons given to an applicant."
)


def _path_items(paths: _Paths, responses: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Every endpoint's path item; ``responses`` names each answer's component."""
    return {
        "/predict": paths.scoring(
            "The original contract",
            'p(fraud) rounded to 4 places with the risk band: {"data": [record, …]} → '
            '{"predictions": [{"probability", "risk_level", "is_fraud"}, …], "model_version"}',
            responses["predict"],
            "predict",
        ),
        "/score": paths.scoring(
            "Unrounded probabilities and the model's decision",
            "The same input; unrounded probabilities, the model's own decision and which model answered.",
            responses["score"],
            "score",
        ),
        "/explain": paths.scoring(
            "Why a score: each record's top reasons",
            EXPLAIN_DESCRIPTION,
            responses["explain"],
            "explain",
            request="ExplainRequest",
        ),
        "/model": paths.model(responses["model"]),
        "/model/card": paths.card(),
        "/livez": paths.health("Liveness"),
        "/healthz": paths.health("Liveness (alias)"),
        "/readyz": paths.health(
            "Readiness: a model is loaded and the capture keeps up", ready=True
        ),
        "/metrics": paths.health("Prometheus metrics"),
    }


def openapi_document(*, max_records: int, api_key: bool, version: str = "") -> dict[str, Any]:
    """The whole OpenAPI 3.0 document of the service, for the running configuration."""
    schemas: dict[str, Any] = {"Record": record_schema()}
    _component(ErrorResponse, schemas)
    responses = {
        "predict": _component(PredictResponse, schemas),
        "score": _component(ScoreResponse, schemas),
        "model": _component(ModelDetails, schemas),
        "explain": _component(ExplainResponse, schemas),
    }
    schemas["ScoringRequest"] = _scoring_request(max_records)
    schemas["ExplainRequest"] = _explain_request(max_records)
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {
            "title": "fraud-detection",
            "version": version or "0",
            "description": (
                "p(fraud) of funding applications. Every 4xx answer has the shape "
                '{"error": "…", "problems": [{"field": "…", "message": "…"}]}.'
            ),
        },
        "servers": [{"url": "."}],
        "tags": [{"name": "scoring"}, {"name": "infrastructure"}],
        "paths": _path_items(_Paths(max_records, api_key), responses),
        "components": {"schemas": schemas},
    }
    if api_key:
        document["components"]["securitySchemes"] = SECURITY_SCHEMES
    return document
