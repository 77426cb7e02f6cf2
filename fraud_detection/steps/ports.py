"""What the steps need of the lake and the registry, as small protocols.

``Lake`` and ``Registry`` (fraud_detection/adapters) satisfy them; so do the in-memory stand-ins
of tests/support/fakes.py, on which every step is unit-tested without a store. The composition
roots (flows, service, CLI) build the adapters and pass them in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from fraud_detection.core.lineage import PartitionRef, RunRecord
from fraud_detection.core.tags import QuarantineRecord, Role, VersionTags

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
    import xgboost as xgb


class VersionView(Protocol):
    """A registered version: number, training run, typed tags."""

    @property
    def version(self) -> str: ...

    @property
    def run_id(self) -> str | None: ...

    @property
    def tags(self) -> VersionTags: ...


class LakeReader(Protocol):
    """The lake as the steps read it: which months exist, which file is in force, its bytes."""

    def list_months(self) -> list[str]: ...

    def latest(self, name: str) -> str | None: ...

    def fetch(self, name: str) -> tuple[bytes, PartitionRef]: ...


class RegistryReader(Protocol):
    """The registry read: versions, aliases, decided and quarantined months."""

    def versions(self) -> Sequence[VersionView]: ...

    def version(self, number: str) -> VersionView: ...

    def alias(self, alias: str) -> VersionView | None: ...

    def champion(self) -> VersionView | None: ...

    def decided_months(self) -> set[str]: ...

    def quarantined(self) -> Mapping[str, QuarantineRecord]: ...


class DecisionWriter(RegistryReader, Protocol):
    """The registry as the transition writes it: tags, the challenger alias, promotions."""

    def quarantine(self, record: QuarantineRecord) -> None: ...

    def set_challenger(self, version: str) -> None: ...

    def promote(self, version: str, *, expected_champion: str | None) -> None: ...

    def set_tags(self, version: str, tags: VersionTags) -> None: ...


class ModelWriter(DecisionWriter, Protocol):
    """The registry as training and judging use it: runs, models, their results."""

    def find_version(self, month: str, data_sha256: str, role: Role) -> VersionView | None: ...

    def log_model_run(self, model: xgb.Booster, run: RunRecord) -> tuple[str, str]: ...

    def register_version(self, model_uri: str, run_id: str | None, tags: VersionTags) -> str: ...

    def load_booster(self, version: str) -> xgb.Booster: ...

    def log_to_run(
        self,
        run_id: str,
        *,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        text: Mapping[str, str] | None = None,
    ) -> None: ...

    def log_figures(self, run_id: str, figures: Mapping[str, Any]) -> None: ...


class AliasWriter(ModelWriter, Protocol):
    """The registry as an operator moves its aliases (``champion`` by compare-and-set)."""

    def set_champion(self, version: str) -> None: ...

    def set_alias(self, alias: str, version: str) -> None: ...


class ScoredReader(Protocol):
    """The captured scores as the monitor and the outcome join read them (``ScoredStore``)."""

    def days(self) -> list[str]: ...

    def read(
        self,
        *,
        since: date | None = None,
        until: date | None = None,
        columns: Sequence[str] | None = None,
        where: pc.Expression | None = None,
    ) -> pa.Table: ...


class MonitorRegistry(RegistryReader, Protocol):
    """The registry as the monitor uses it: the champion's model and lineage, its own runs."""

    def load_booster(self, version: str) -> xgb.Booster: ...

    def lineage(self, version: str) -> list[PartitionRef]: ...

    def log_run(self, run: RunRecord) -> str: ...

    def set_tags(self, version: str, tags: VersionTags) -> None: ...
