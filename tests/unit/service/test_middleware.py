"""A blank FRAUD_API_KEY is refused at start-up by every process, and the API document
advertises a key exactly when one guards the service."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from starlette.types import Receive, Scope, Send
from typer.testing import CliRunner

from fraud_detection.config import Settings
from fraud_detection_cli.main import app as cli


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    """The service behind the middlewares (never reached here)."""


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_api_key_is_refused_by_the_settings_the_service_and_the_command(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, blank: str
) -> None:
    from service.middleware import ApiKeyMiddleware, ContractMiddleware

    # Given FRAUD_API_KEY set to nothing (a templated variable, an empty Secret)
    monkeypatch.setenv("FRAUD_API_KEY", blank)
    # Then the settings refuse it, naming the variable and what to do
    with pytest.raises(ValidationError, match="FRAUD_API_KEY is set but blank"):
        Settings()
    # and so does the service when it starts (no open /predict while the document asks a key)
    with pytest.raises(ValidationError, match="FRAUD_API_KEY"):
        ApiKeyMiddleware(_app)
    with pytest.raises(ValidationError, match="FRAUD_API_KEY"):
        ContractMiddleware(_app).document()
    # and any command
    result = CliRunner().invoke(cli, ["status"])
    assert result.exit_code != 0 and "FRAUD_API_KEY is set but blank" in str(result.exception)


def test_the_document_advertises_a_key_only_when_one_is_configured(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from service.middleware import ApiKeyMiddleware, ContractMiddleware

    monkeypatch.delenv("FRAUD_API_KEY", raising=False)
    assert ApiKeyMiddleware(_app).key is None
    assert "securitySchemes" not in json.loads(ContractMiddleware(_app).document())["components"]
    monkeypatch.setenv("FRAUD_API_KEY", "k3y")
    assert ApiKeyMiddleware(_app).key == b"k3y"
    assert "securitySchemes" in json.loads(ContractMiddleware(_app).document())["components"]
