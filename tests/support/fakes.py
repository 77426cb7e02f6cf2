"""In-memory stand-ins for the lake and the registry: they satisfy the steps' protocols
(fraud_detection/steps/ports.py), keep everything in dicts and journal every write, so a step's
logic is tested without MLflow or a file system."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import xgboost as xgb

from fraud_detection.adapters.registry import RegistryError, StaleChampionError
from fraud_detection.core.lineage import PartitionRef, RunRecord
from fraud_detection.core.tags import QuarantineRecord, Role, VersionTags


@dataclass
class InMemoryLake:
    """Partition name → its deliveries' bytes, oldest first (the last one is in force)."""

    partitions: dict[str, list[bytes]] = field(default_factory=dict)

    def write(self, name: str, frame: pd.DataFrame) -> PartitionRef:
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        self.partitions.setdefault(name, []).append(buffer.getvalue())
        return self.fetch(name)[1]

    def list_months(self) -> list[str]:
        return sorted(name for name in self.partitions if name != "base")

    def latest(self, name: str) -> str | None:
        count = len(self.partitions.get(name, []))
        return f"mem://{name}/applications-{count}.parquet" if count else None

    def fetch(self, name: str) -> tuple[bytes, PartitionRef]:
        raw = self.partitions[name][-1]
        return raw, PartitionRef(name, self.latest(name) or "", hashlib.sha256(raw).hexdigest())


@dataclass(frozen=True)
class StoredVersion:
    version: str
    run_id: str | None
    tags: VersionTags


@dataclass
class Run:
    name: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, Any] = field(default_factory=dict)


@dataclass
class InMemoryRegistry:
    """Versions with typed tags, aliases, runs with their artifacts, boosters, quarantines."""

    champion_alias: str = "champion"
    challenger_alias: str = "challenger"
    stored: list[StoredVersion] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    runs: dict[str, Run] = field(default_factory=dict)
    models: dict[str, xgb.Booster] = field(default_factory=dict)  # model uri → booster
    sources: dict[str, str] = field(default_factory=dict)  # version → model uri
    held: dict[str, QuarantineRecord] = field(default_factory=dict)
    journal: list[tuple[str, ...]] = field(default_factory=list)

    # -- reading -------------------------------------------------------------------------------
    def versions(self) -> list[StoredVersion]:
        return list(self.stored)

    def version(self, number: str) -> StoredVersion:
        return next(v for v in self.stored if v.version == number)

    def alias(self, alias: str) -> StoredVersion | None:
        return self.version(self.aliases[alias]) if alias in self.aliases else None

    def champion(self) -> StoredVersion | None:
        return self.alias(self.champion_alias)

    def decided_months(self) -> set[str]:
        return {v.tags.month for v in self.stored if v.tags.decided and v.tags.month}

    def quarantined(self) -> dict[str, QuarantineRecord]:
        return dict(self.held)

    def find_version(self, month: str, data_sha256: str, role: Role) -> StoredVersion | None:
        return next(
            (
                v
                for v in self.stored
                if (v.tags.month, v.tags.data_sha256, v.tags.role) == (month, data_sha256, role)
            ),
            None,
        )

    def load_booster(self, version: str) -> xgb.Booster:
        return self.models[self.sources[version]]

    def lineage(self, version: str) -> list[PartitionRef]:
        run_id = self.version(version).run_id
        return list(self.runs[run_id].artifacts.get("lineage", [])) if run_id else []

    # -- writing -------------------------------------------------------------------------------
    def log_model_run(self, model: xgb.Booster, run: RunRecord) -> tuple[str, str]:
        run_id = f"run-{len(self.runs) + 1}"
        artifacts: dict[str, Any] = {"lineage": list(run.lineage), **run.figures, **run.texts}
        self.runs[run_id] = Run(
            run.name,
            {k: str(v) for k, v in run.params.items()},
            dict(run.metrics),
            dict(run.tags),
            artifacts,
        )
        uri = f"models:/m-{run_id}"
        self.models[uri] = model
        self.journal.append(("run", run_id))
        return run_id, uri

    def log_run(self, run: RunRecord) -> str:
        run_id = f"run-{len(self.runs) + 1}"
        params = {k: str(v) for k, v in run.params.items()}
        self.runs[run_id] = Run(
            run.name, params, dict(run.metrics), dict(run.tags), dict(run.texts)
        )
        self.journal.append(("run", run_id))
        return run_id

    def register_version(self, model_uri: str, run_id: str | None, tags: VersionTags) -> str:
        number = str(len(self.stored) + 1)
        self.stored.append(StoredVersion(number, run_id, tags))
        self.sources[number] = model_uri
        self.journal.append(("version", number))
        return number

    def log_to_run(
        self,
        run_id: str,
        *,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        text: Mapping[str, str] | None = None,
    ) -> None:
        run = self.runs[run_id]
        run.metrics.update(metrics or {})
        run.tags.update(tags or {})
        run.artifacts.update(text or {})
        self.journal.append(("log", run_id))

    def log_figures(self, run_id: str, figures: Mapping[str, Any]) -> None:
        self.runs[run_id].artifacts.update(figures)
        self.journal.append(("figures", run_id))

    def set_tags(self, version: str, tags: VersionTags) -> None:
        """Merge the fields that are set into the version's tags (as MLflow merges tags)."""
        index = next(i for i, v in enumerate(self.stored) if v.version == version)
        merged = {**self.stored[index].tags.to_tags(), **tags.to_tags()}
        self.stored[index] = dataclasses.replace(
            self.stored[index], tags=VersionTags.from_tags(merged)
        )
        self.journal.extend(("tag", version, key) for key in tags.to_tags())

    def quarantine(self, record: QuarantineRecord) -> None:
        self.held[record.month] = record
        self.journal.append(("quarantine", record.month))

    def set_challenger(self, version: str) -> None:
        self.set_alias(self.challenger_alias, version)

    def set_alias(self, alias: str, version: str) -> None:
        if alias == self.champion_alias:
            raise RegistryError(f"{alias!r} moves only by promotion")
        self.aliases[alias] = version
        self.journal.append((alias, version))

    def promote(self, version: str, *, expected_champion: str | None) -> None:
        current = self.aliases.get(self.champion_alias)
        if current != expected_champion:
            raise StaleChampionError(f"champion is version {current}, not {expected_champion}")
        if current == version:
            return
        self.set_tags(version, VersionTags(promoted_from=current or ""))
        self.aliases[self.champion_alias] = version
        self.journal.append((self.champion_alias, version))

    def set_champion(self, version: str) -> None:
        self.promote(version, expected_champion=self.aliases.get(self.champion_alias))
