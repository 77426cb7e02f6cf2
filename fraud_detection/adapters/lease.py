"""A lease in the lake: one holder at a time, across processes and machines.

Promotions take it so that the deployment, ``fraud-detection retrain`` and ``fraud-detection
promote`` can never interleave the champion check and the alias set. It is a file created with
create-if-absent (a hard link locally, a conditional PUT on S3), removed by its holder; a holder
that died leaves a file that expires after ``ttl`` seconds.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from types import TracebackType
from typing import Any

from fraud_detection.adapters.lake import Lake


class LeaseTimeout(RuntimeError):
    """Another holder kept the lease for longer than we were willing to wait."""


class Lease:
    """A lease in the lake: held by one process at a time; see the module docstring."""

    def __init__(self, lake: Lake, name: str, *, ttl: float = 120, wait: float = 60) -> None:
        self.lake, self.name, self.ttl, self.wait = lake, name, ttl, wait
        self.path = f"{lake.root}/_leases/{name}.json"
        self.token = uuid.uuid4().hex

    def __enter__(self) -> Lease:
        body = json.dumps({"token": self.token, "expires": time.time() + self.ttl}).encode()
        deadline = time.monotonic() + self.wait
        while not self.lake.create_file(self.path, body):
            held = self._read()
            if held is not None and held.get("expires", 0) < time.time():
                self._remove_if(held.get("token"))  # its holder died
                continue
            if time.monotonic() > deadline:
                raise LeaseTimeout(f"lease {self.name!r} still held after {self.wait:g} s")
            time.sleep(0.1)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._remove_if(self.token)

    def _read(self) -> dict[str, Any] | None:
        try:
            held: dict[str, Any] = json.loads(self.lake.fs.cat_file(self.path))
            return held
        except (FileNotFoundError, ValueError):
            return None

    def _remove_if(self, token: object) -> None:
        held = self._read()
        if held is not None and held.get("token") == token:
            with contextlib.suppress(FileNotFoundError):
                self.lake.fs.rm(self.path)
