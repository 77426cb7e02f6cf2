"""MLflow: log training runs, register versions, move aliases by compare-and-set, roll back.

Aliases: ``champion`` is what serving uses (the old "Production" stage), ``challenger`` the
latest candidate. Tracking URIs are set when a Registry is made, never at import time. Versions
come back as :class:`VersionInfo` with typed tags (:mod:`fraud_detection.core.tags`): MLflow's
own entities stay inside this module.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from fraud_detection.adapters.mlflow_runs import MlflowRuns
from fraud_detection.adapters.promotion_locks import PromotionLock
from fraud_detection.config import Settings
from fraud_detection.core.lineage import PartitionRef
from fraud_detection.core.tags import (
    QUARANTINE_FILTER,
    QuarantineRecord,
    Role,
    VersionTags,
    latest_quarantines,
    utc_now,
)

if TYPE_CHECKING:
    import xgboost as xgb

REGISTRATION_TIMEOUT = 60  # seconds MLflow may take to make a new version READY


class RegistryError(RuntimeError):
    """A registry operation that cannot be done as asked."""


class StaleChampionError(RegistryError):
    """The champion moved since the evaluation began; the promotion is refused."""


@dataclass(frozen=True)
class VersionInfo:
    """A registered model version: its number, the run that trained it and its typed tags."""

    version: str
    run_id: str | None
    tags: VersionTags


def _info(version: ModelVersion) -> VersionInfo:
    return VersionInfo(str(version.version), version.run_id, VersionTags.from_tags(version.tags))


def _nothing() -> None:
    """The check of a lock that reports its own loss."""


def _is_missing(exc: MlflowException) -> bool:
    return exc.error_code in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")


class Registry(MlflowRuns):
    """The MLflow registry and tracking store of one registered model.

    Guarantees: a new version is returned only once MLflow reports it READY; ``champion`` moves
    only by compare-and-set and one change at a time under ``lock`` (promotions are refused
    without one); MLflow's process-global URIs are left as they were found.
    """

    def __init__(self, settings: Settings, *, lock: PromotionLock | None = None) -> None:
        self.settings = settings
        self.name = settings.model_name
        self.lock = lock
        # Both URIs explicit: a client otherwise inherits a process-global registry URI.
        self.client = MlflowClient(
            tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri
        )

    def lineage(self, version: str) -> list[PartitionRef]:
        """The partitions a version was trained on ([] for a model registered from a file)."""
        run_id = self.version(version).run_id
        return self.run_lineage(run_id) if run_id else []

    # -- versions ------------------------------------------------------------------------------
    def register_version(self, model_uri: str, run_id: str | None, tags: VersionTags) -> str:
        """A new version of the model, returned once MLflow reports it READY."""
        try:
            self.client.get_registered_model(self.name)
        except MlflowException as exc:
            if not _is_missing(exc):
                raise
            with contextlib.suppress(MlflowException):  # created concurrently
                self.client.create_registered_model(self.name)
        # A logged model's URI (models:/m-…) names its id; a tracking server insists on it.
        model_id = (
            model_uri.removeprefix("models:/") if model_uri.startswith("models:/m-") else None
        )
        # The SQL registry store looks a logged model up through the process-global URI.
        with self.fluent_store():
            version = self.client.create_model_version(
                self.name,
                source=model_uri,
                run_id=run_id,
                tags=tags.to_tags(),
                model_id=model_id,
                await_creation_for=REGISTRATION_TIMEOUT,
            )
        return str(version.version)

    def versions(self) -> list[VersionInfo]:
        try:
            found = self.client.search_model_versions(f"name = '{self.name}'")
        except MlflowException as exc:
            if _is_missing(exc):
                return []
            raise
        return [_info(v) for v in sorted(found, key=lambda v: int(v.version))]

    def version(self, number: str | int) -> VersionInfo:
        return _info(self.client.get_model_version(self.name, str(number)))

    def find_version(self, month: str, data_sha256: str, role: Role) -> VersionInfo | None:
        """The version already trained for this month on exactly this data, if any."""
        for version in self.versions():
            tags = version.tags
            if tags.month == month and tags.data_sha256 == data_sha256 and tags.role is role:
                return version
        return None

    def decided_months(self) -> set[str]:
        """Months whose run reached a decision (the flow's notion of "finished"): read from the
        judged version, whose ``decision`` the transition writes last, never from its refit."""
        return {v.tags.month for v in self.versions() if v.tags.judged and v.tags.month}

    # -- quarantine ----------------------------------------------------------------------------
    def quarantine(self, record: QuarantineRecord) -> None:
        """Record that a month's delivery is unusable (a tagged MLflow run; data untouched).

        With ``record.run_id`` the challenger's run is tagged; otherwise a run of its own."""
        tags = record.to_tags()
        if not record.run_id:
            run = self.client.create_run(
                self.experiment_id(), run_name=f"quarantine-{record.month}", tags=tags
            )
            self.client.set_terminated(run.info.run_id, status="FAILED")
        else:
            for key, value in tags.items():
                self.client.set_tag(record.run_id, key, value)

    def quarantined(self) -> dict[str, QuarantineRecord]:
        """Month → the latest quarantine record (path, sha256, reason, when)."""
        experiment = self.client.get_experiment_by_name(self.settings.experiment_name)
        if experiment is None:
            return {}
        runs = self.client.search_runs([experiment.experiment_id], filter_string=QUARANTINE_FILTER)
        return latest_quarantines((run.info.run_id, run.data.tags) for run in runs)

    def set_tags(self, version: str, tags: VersionTags) -> None:
        """Write the fields that are set (``decision`` last, so a crash never half-decides)."""
        for key, value in tags.to_tags().items():
            self.client.set_model_version_tag(self.name, version, key, value)

    # -- aliases -------------------------------------------------------------------------------
    def alias(self, alias: str) -> VersionInfo | None:
        try:
            return _info(self.client.get_model_version_by_alias(self.name, alias))
        except MlflowException as exc:
            if _is_missing(exc):
                return None
            raise

    def champion(self) -> VersionInfo | None:
        return self.alias(self.settings.champion_alias)

    def set_challenger(self, version: str) -> None:
        self.set_alias(self.settings.challenger_alias, version)

    def set_alias(self, alias: str, version: str) -> None:
        """Any alias but ``champion``, which moves only through ``promote`` (compare-and-set)."""
        if alias == self.settings.champion_alias:
            raise RegistryError(f"{alias!r} moves only by promotion")
        self.client.set_registered_model_alias(self.name, alias, version)

    @contextlib.contextmanager
    def _serial(self) -> Iterator[Callable[[], None]]:
        """One alias change at a time, whoever starts it; yields the check to make before each
        write (it raises if the lock was lost meanwhile)."""
        if self.lock is None:
            raise RegistryError("promotions need a lock: open the registry with open_registry()")
        with self.lock() as held:
            yield held.confirm if held is not None else _nothing

    def promote(self, version: str, *, expected_champion: str | None) -> None:
        """Move ``champion`` to ``version`` only if it still points at ``expected_champion``.

        Idempotent: if ``version`` is already champion the call succeeds whatever it expected,
        so a retry after a promotion whose answer was lost (or whose later writes failed)
        completes instead of failing as stale."""
        with self._serial() as confirm:
            self._promote(version, expected_champion, confirm)

    def _promote(
        self, version: str, expected_champion: str | None, confirm: Callable[[], None]
    ) -> None:
        current = self.alias(self.settings.champion_alias)
        current_version = current.version if current else None
        if current_version == version:
            return  # done already (by this call's earlier attempt, or by hand)
        if current_version != expected_champion:
            raise StaleChampionError(
                f"champion is version {current_version}, not {expected_champion} as when the "
                f"evaluation began; promotion of version {version} refused"
            )
        confirm()
        self.set_tags(
            version, VersionTags(promoted_from=current_version or "", promoted_at=utc_now())
        )
        confirm()
        self.client.set_registered_model_alias(self.name, self.settings.champion_alias, version)

    def rollback(self) -> str:
        """Point ``champion`` back at the version it was promoted from; returns that version."""
        with self._serial() as confirm:
            return self._rollback(confirm)

    def _rollback(self, confirm: Callable[[], None]) -> str:
        current = self.alias(self.settings.champion_alias)
        if current is None:
            raise RegistryError("there is no champion to roll back")
        previous = current.tags.promoted_from
        if not previous:
            raise RegistryError(f"champion version {current.version} has no previous champion")
        confirm()
        self.set_tags(current.version, VersionTags(rolled_back_at=utc_now()))
        confirm()
        self.client.set_registered_model_alias(self.name, self.settings.champion_alias, previous)
        return previous

    def set_champion(self, version: str) -> None:
        """Move ``champion`` by hand (operator's choice), remembering where it came from."""
        with self._serial() as confirm:
            current = self.alias(self.settings.champion_alias)
            self._promote(version, current.version if current else None, confirm)

    # -- models --------------------------------------------------------------------------------
    def model_uri(self, version: str) -> str:
        return f"models:/{self.name}/{version}"

    def load_booster(self, version: str) -> xgb.Booster:
        """Load a version in XGBoost's own format: the xgboost flavor's model file (named in its
        MLmodel), read by XGBoost itself. Nothing is unpickled, and nothing of MLflow's model
        API is imported: ``mlflow.xgboost`` needs pandas, which the service's bento has not."""
        import xgboost as xgb
        import yaml

        with tempfile.TemporaryDirectory() as scratch, self.fluent_store():
            local = Path(
                mlflow.artifacts.download_artifacts(self.model_uri(version), dst_path=scratch)
            )
            flavor = yaml.safe_load((local / "MLmodel").read_text())["flavors"].get("xgboost")
            if flavor is None:
                raise RegistryError(f"version {version} is not stored in the xgboost flavor")
            booster = xgb.Booster()
            booster.load_model(str(local / flavor["data"]))
        return booster
