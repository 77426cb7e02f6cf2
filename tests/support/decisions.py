"""An in-memory decision log and a registry that can roll back, for the review steps' tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from fraud_detection.adapters.registry import RegistryError
from fraud_detection.core.signatures import AliasChange, Suspension
from fraud_detection.core.tags import VersionTags
from tests.support.fakes import InMemoryRegistry, Run


@dataclass
class InMemoryDecisionLog:
    """Signed changes in a list, the suspension in a field, run figures from a registry."""

    registry: InMemoryRegistry | None = None
    recorded: list[AliasChange] = field(default_factory=list)
    stopped: Suspension | None = None
    cards: dict[str, tuple[str, str]] = field(default_factory=dict)  # version → (card, summary)

    def changes(self) -> list[AliasChange]:
        return list(self.recorded)

    def record(self, change: AliasChange) -> None:
        self.recorded.append(change)

    def suspension(self) -> Suspension | None:
        return self.stopped

    def suspend(self, suspension: Suspension) -> None:
        self.stopped = suspension

    def resume(self) -> None:
        self.stopped = None

    def _run(self, run_id: str) -> Run:
        assert self.registry is not None
        return self.registry.runs[run_id]

    def run_metrics(self, run_id: str) -> dict[str, float]:
        return dict(self._run(run_id).metrics)

    def run_params(self, run_id: str) -> dict[str, str]:
        return dict(self._run(run_id).params)

    def save_card(self, version: str, run_id: str | None, markdown: str, summary: str) -> None:
        self.cards[version] = (markdown, summary)


@dataclass
class RollbackRegistry(InMemoryRegistry):
    """The in-memory registry with ``Registry.rollback``'s behaviour."""

    def rollback(self) -> str:
        current = self.champion()
        if current is None or not current.tags.promoted_from:
            raise RegistryError("there is no previous champion to roll back to")
        previous = current.tags.promoted_from
        self.set_tags(current.version, VersionTags(rolled_back_at="now"))
        self.aliases[self.champion_alias] = previous
        return previous
