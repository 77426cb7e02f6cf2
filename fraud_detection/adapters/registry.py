"""MLflow: log training runs, register versions, move aliases by compare-and-set, roll back.

Aliases: ``champion`` is what serving uses (the old "Production" stage), ``challenger`` the
latest candidate. Tracking URIs are set when a Registry is made, never at import time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from fraud_detection.adapters.lake import PartitionRef
from fraud_detection.adapters.registry_view import quarantine_records
from fraud_detection.config import Settings

if TYPE_CHECKING:
    import xgboost as xgb

MODEL_ARTIFACT = "model"
REGISTRATION_TIMEOUT = 60  # seconds MLflow may take to make a new version READY
DECIDED = ("promoted", "rejected")  # a month with either is finished; "quarantined" is not
_FLUENT_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


class RegistryError(RuntimeError):
    """A registry operation that cannot be done as asked."""


class StaleChampionError(RegistryError):
    """The champion moved since the evaluation began; the promotion is refused."""


@dataclass(frozen=True)
class ChampionInfo:
    version: str
    run_id: str | None
    tags: dict[str, str]
    default_threshold: float = 0.25  # for versions registered without a threshold tag

    @property
    def threshold(self) -> float:
        return float(self.tags.get("threshold", self.default_threshold))


def lineage_hash(refs: list[PartitionRef]) -> str:
    """One hash for the exact set of partitions (and their bytes) a model was trained on."""
    text = "\n".join(f"{r.name}:{r.sha256}" for r in sorted(refs, key=lambda r: r.name))
    return hashlib.sha256(text.encode()).hexdigest()


def _is_missing(exc: MlflowException) -> bool:
    return exc.error_code in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")


class Registry:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.name = settings.model_name
        # Both URIs explicit: a client otherwise inherits a process-global registry URI.
        self.client = MlflowClient(
            tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri
        )

    # -- experiment and runs -------------------------------------------------------------------
    def experiment_id(self) -> str:
        experiment = self.client.get_experiment_by_name(self.settings.experiment_name)
        if experiment is not None:
            return experiment.experiment_id
        try:
            return self.client.create_experiment(
                self.settings.experiment_name, artifact_location=self.settings.artifact_location
            )
        except MlflowException:  # created concurrently by another process
            experiment = self.client.get_experiment_by_name(self.settings.experiment_name)
            assert experiment is not None
            return experiment.experiment_id

    @contextlib.contextmanager
    def _fluent_store(self) -> Iterator[None]:
        """Point MLflow's fluent API (log_model, load_model) at our store for one call.

        ``mlflow.set_tracking_uri`` also writes ``MLFLOW_TRACKING_URI`` / ``MLFLOW_REGISTRY_URI``
        into the environment; they are put back afterwards so that a later ``Settings()`` in this
        process does not silently inherit this store.
        """
        saved_env = {name: os.environ.get(name) for name in _FLUENT_ENV}
        saved_uris = (mlflow.get_tracking_uri(), mlflow.get_registry_uri())
        mlflow.set_tracking_uri(self.settings.tracking_uri)
        mlflow.set_registry_uri(self.settings.tracking_uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(saved_uris[0])
            mlflow.set_registry_uri(saved_uris[1])
            for name, value in saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def log_model_run(
        self,
        model: xgb.XGBModel | xgb.Booster,
        *,
        run_name: str,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        tags: Mapping[str, str],
        lineage: list[PartitionRef],
        figures: Mapping[str, Any] | None = None,
        texts: Mapping[str, str] | None = None,
    ) -> tuple[str, str]:
        """Log one training run with its model in XGBoost's own format → (run_id, model_uri)."""
        import xgboost as xgb

        experiment_id = self.experiment_id()
        with (
            self._fluent_store(),
            mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run,
        ):
            mlflow.set_tags(dict(tags))
            mlflow.log_params({k: str(v) for k, v in params.items()})
            mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
            mlflow.log_dict(
                {"partitions": [r.__dict__ for r in lineage], "sha256": lineage_hash(lineage)},
                "lineage.json",
            )
            for path, figure in (figures or {}).items():
                mlflow.log_figure(figure, path)
            for path, body in (texts or {}).items():
                mlflow.log_text(body, path)
            info = mlflow.xgboost.log_model(
                model,
                name=MODEL_ARTIFACT,
                model_format="ubj",
                pip_requirements=[f"xgboost=={xgb.__version__}"],
            )
            return run.info.run_id, info.model_uri

    def log_to_run(
        self,
        run_id: str,
        *,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        text: Mapping[str, str] | None = None,
    ) -> None:
        """Add results to a finished run (evaluation, decision, report)."""
        for key, value in (metrics or {}).items():
            self.client.log_metric(run_id, key, float(value))
        for name, tag in (tags or {}).items():
            self.client.set_tag(run_id, name, tag)
        for path, body in (text or {}).items():
            self.client.log_text(run_id, body, path)

    # -- versions ------------------------------------------------------------------------------
    def register_version(self, model_uri: str, run_id: str | None, tags: Mapping[str, str]) -> str:
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
        with self._fluent_store():
            version = self.client.create_model_version(
                self.name,
                source=model_uri,
                run_id=run_id,
                tags=dict(tags),
                model_id=model_id,
                await_creation_for=REGISTRATION_TIMEOUT,
            )
        return str(version.version)

    def versions(self) -> list[ModelVersion]:
        try:
            found = self.client.search_model_versions(f"name = '{self.name}'")
        except MlflowException as exc:
            if _is_missing(exc):
                return []
            raise
        return sorted(found, key=lambda v: int(v.version))

    def version(self, number: str | int) -> ModelVersion:
        return self.client.get_model_version(self.name, str(number))

    def find_version(
        self, month: str, data_sha256: str, role: str | None = None
    ) -> ModelVersion | None:
        """The version already trained for this month on exactly this data, if any."""
        for version in self.versions():
            if (
                version.tags.get("month") == month
                and version.tags.get("data_sha256") == data_sha256
                and (role is None or version.tags.get("role", "challenger") == role)
            ):
                return version
        return None

    def decided_months(self) -> set[str]:
        """Months whose run reached a decision (the flow's notion of "finished")."""
        return {
            v.tags["month"]
            for v in self.versions()
            if v.tags.get("decision") in DECIDED and "month" in v.tags
        }

    # -- quarantine ----------------------------------------------------------------------------
    def quarantine(
        self, month: str, path: str, sha256: str, reason: str, *, run_id: str | None = None
    ) -> None:
        """Record that a month's delivery is unusable (a tagged MLflow run; data untouched)."""
        tags = {
            "quarantine": "true",
            "month": month,
            "quarantined_path": path,
            "quarantined_sha256": sha256,
            "quarantine_reason": reason[:5000],
            "quarantined_at": _now(),
        }
        if run_id is None:
            run = self.client.create_run(
                self.experiment_id(), run_name=f"quarantine-{month}", tags=tags
            )
            self.client.set_terminated(run.info.run_id, status="FAILED")
        else:
            for key, value in tags.items():
                self.client.set_tag(run_id, key, value)

    def quarantined(self) -> dict[str, dict[str, str]]:
        """Month → the latest quarantine record (path, sha256, reason, when)."""
        experiment = self.client.get_experiment_by_name(self.settings.experiment_name)
        if experiment is None:
            return {}
        runs = self.client.search_runs(
            [experiment.experiment_id], filter_string="tags.quarantine = 'true'"
        )
        return quarantine_records((run.info.run_id, run.data.tags) for run in runs)

    def set_tags(self, version: str, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_model_version_tag(self.name, version, key, value)

    # -- aliases -------------------------------------------------------------------------------
    def alias(self, alias: str) -> ModelVersion | None:
        try:
            return self.client.get_model_version_by_alias(self.name, alias)
        except MlflowException as exc:
            if _is_missing(exc):
                return None
            raise

    def champion(self) -> ChampionInfo | None:
        version = self.alias(self.settings.champion_alias)
        if version is None:
            return None
        return ChampionInfo(
            str(version.version),
            version.run_id,
            dict(version.tags),
            self.settings.default_threshold,
        )

    def set_challenger(self, version: str) -> None:
        self.client.set_registered_model_alias(self.name, self.settings.challenger_alias, version)

    @contextlib.contextmanager
    def _serial(self) -> Iterator[None]:
        """One alias change at a time, whoever starts it (a lease in the lake)."""
        from fraud_detection.adapters.lake import Lake
        from fraud_detection.adapters.lease import Lease

        with Lease(Lake.from_settings(self.settings), f"promotion-{self.name}"):
            yield

    def promote(self, version: str, *, expected_champion: str | None) -> None:
        """Move ``champion`` to ``version`` only if it still points at ``expected_champion``."""
        with self._serial():
            self._promote(version, expected_champion)

    def _promote(self, version: str, expected_champion: str | None) -> None:
        current = self.alias(self.settings.champion_alias)
        current_version = str(current.version) if current else None
        if current_version != expected_champion:
            raise StaleChampionError(
                f"champion is version {current_version}, not {expected_champion} as when the "
                f"evaluation began; promotion of version {version} refused"
            )
        if current_version == version:
            return
        self.set_tags(version, {"promoted_from": current_version or "", "promoted_at": _now()})
        self.client.set_registered_model_alias(self.name, self.settings.champion_alias, version)

    def rollback(self) -> str:
        """Point ``champion`` back at the version it was promoted from; returns that version."""
        with self._serial():
            return self._rollback()

    def _rollback(self) -> str:
        current = self.alias(self.settings.champion_alias)
        if current is None:
            raise RegistryError("there is no champion to roll back")
        previous = current.tags.get("promoted_from", "")
        if not previous:
            raise RegistryError(f"champion version {current.version} has no previous champion")
        self.set_tags(str(current.version), {"rolled_back_at": _now()})
        self.client.set_registered_model_alias(self.name, self.settings.champion_alias, previous)
        return previous

    def set_champion(self, version: str) -> None:
        """Move ``champion`` by hand (operator's choice), remembering where it came from."""
        with self._serial():
            current = self.alias(self.settings.champion_alias)
            self._promote(version, str(current.version) if current else None)

    # -- models --------------------------------------------------------------------------------
    def model_uri(self, version: str) -> str:
        return f"models:/{self.name}/{version}"

    def load_booster(self, version: str) -> xgb.Booster:
        """Load a version in XGBoost's own format (the xgboost flavor; nothing is unpickled)."""
        import xgboost as xgb

        with self._fluent_store():
            model = mlflow.xgboost.load_model(self.model_uri(version))
        return model.get_booster() if isinstance(model, xgb.XGBModel) else model


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
