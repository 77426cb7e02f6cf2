"""Keep secrets out of logs, params, artifacts and error messages."""

from __future__ import annotations

import re

_USERINFO = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]*)@"
)


def redact_uri(uri: str) -> str:
    """``postgresql://user:secret@host/db`` → ``postgresql://user:***@host/db``."""
    return _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", uri)


def redact_text(text: str, secrets: list[str]) -> str:
    """Replace every known secret value, then any password inside a URI."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return redact_uri(text)
