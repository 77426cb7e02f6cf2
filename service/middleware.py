"""The service's ASGI middlewares: the OpenAPI document and the one error shape of every 4xx
(``ContractMiddleware``), and the API key (``ApiKeyMiddleware``)."""

from __future__ import annotations

import hmac
import json
from http import HTTPStatus
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from fraud_detection.config import get_settings
from service.openapi import openapi_document

SCORING_PATHS = ("/predict", "/score", "/explain")
PROTECTED_PATHS = (*SCORING_PATHS, "/model")


def error_response(
    status: HTTPStatus, message: str, problems: list[dict[str, str]] | None = None
) -> JSONResponse:
    return JSONResponse({"error": message, "problems": problems or []}, status_code=status)


def _problems_of(status: int, body: bytes) -> dict[str, Any]:
    """Any 4xx body (BentoML's pydantic errors, Starlette's plain text) in the one error shape."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("problems"), list):
        return payload
    problems: list[dict[str, str]] = []
    if isinstance(payload, dict) and isinstance(payload.get("detail"), list):
        # BentoML's input validation: pydantic errors with a location in the body
        for item in payload["detail"]:
            if isinstance(item, dict):
                location = ".".join(str(part) for part in item.get("loc") or ()) or "body"
                problems.append({"field": location, "message": str(item.get("msg", ""))})
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
        return {
            "error": f"the request body does not match the API: {summary}",
            "problems": problems,
        }
    if isinstance(payload, dict) and "error" in payload:
        message = str(payload["error"])
    elif isinstance(payload, list | tuple) and payload and isinstance(payload[0], dict):
        message = str(payload[0].get("error", payload[0]))
    else:
        message = body.decode(errors="replace").strip() or HTTPStatus(status).phrase
    return {"error": message, "problems": []}


class ContractMiddleware:
    """Serves the OpenAPI document derived from the contract, refuses bodies that are not JSON
    (415), and gives every 4xx answer — BentoML's and Starlette's included — the one error shape.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._document: bytes | None = None

    def document(self) -> bytes:
        if self._document is None:
            settings = get_settings()
            self._document = json.dumps(
                openapi_document(
                    max_records=settings.max_records_per_request,
                    api_key=settings.api_key is not None,
                )
            ).encode()
        return self._document

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path == "/docs.json" and scope["method"] in ("GET", "HEAD"):
            response = Response(self.document(), media_type="application/json")
            await response(scope, receive, send)
            return
        if path in SCORING_PATHS and scope["method"] == "POST":
            media_type = _media_type(scope)
            if media_type is not None and media_type != "application/json":
                response = error_response(
                    HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                    f"the body must be application/json, got {media_type or 'an empty type'}",
                    [{"field": "Content-Type", "message": "unsupported media type"}],
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, _ErrorShaper(send))


def _media_type(scope: Scope) -> str | None:
    """The request's media type (lower case, no parameters); None when there is no header."""
    for name, value in scope.get("headers") or ():
        if name == b"content-type":
            media_type: str = value.decode("latin-1").split(";")[0].strip().lower()
            return media_type
    return None


class _ErrorShaper:
    """Wraps ``send``: a 4xx answer is held back whole and re-sent in the one error shape."""

    __slots__ = ("body", "send", "start")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.start: dict[str, Any] | None = None
        self.body = b""

    async def __call__(self, message: Any) -> None:
        if message["type"] == "http.response.start":
            if 400 <= message["status"] < 500:
                self.start = message
                return
        elif message["type"] == "http.response.body" and self.start is not None:
            self.body += message.get("body", b"")
            if message.get("more_body"):
                return
            status = self.start["status"]
            body = json.dumps(_problems_of(status, self.body)).encode()
            headers = [
                (k, v)
                for k, v in self.start.get("headers", [])
                if k.lower() not in (b"content-length", b"content-type")
            ]
            headers += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
            await self.send({**self.start, "headers": headers})
            await self.send({"type": "http.response.body", "body": body})
            return
        await self.send(message)


class ApiKeyMiddleware:
    """When FRAUD_API_KEY is set, scoring and model info need it; health and metrics stay open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        key = get_settings().api_key
        # Settings refuse a blank key, so a key that is set always guards (and /docs.json says so).
        self.key = key.get_secret_value().encode() if key is not None else None

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
            response = error_response(
                HTTPStatus.UNAUTHORIZED,
                "missing or wrong API key (X-API-Key or Authorization: Bearer)",
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
