"""What the order-of-months and transition steps need of the lake and the registry.

``Lake`` and ``Registry`` satisfy these; small in-memory stand-ins do too, so the steps' logic is
unit-tested without a store (tests/unit/test_steps_in_memory.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from fraud_detection.adapters.lake import PartitionRef


class ModelVersionLike(Protocol):
    @property
    def version(self) -> Any: ...  # MLflow gives a str, some clients an int

    @property
    def tags(self) -> Mapping[str, str]: ...


class ChampionLike(Protocol):
    @property
    def version(self) -> str: ...


class Deliveries(Protocol):
    """The lake as the order of months sees it."""

    def list_months(self) -> list[str]: ...

    def latest(self, name: str) -> str | None: ...

    def fetch(self, name: str) -> tuple[bytes, PartitionRef]: ...


class DecisionBook(Protocol):
    """The registry as the order of months and the transition see it."""

    def decided_months(self) -> set[str]: ...

    def quarantined(self) -> dict[str, dict[str, str]]: ...

    def versions(self) -> Sequence[ModelVersionLike]: ...

    def quarantine(
        self, month: str, path: str, sha256: str, reason: str, *, run_id: str | None = None
    ) -> None: ...

    def set_challenger(self, version: str) -> None: ...

    def promote(self, version: str, *, expected_champion: str | None) -> None: ...

    def champion(self) -> ChampionLike | None: ...

    def set_tags(self, version: str, tags: Mapping[str, str]) -> None: ...
