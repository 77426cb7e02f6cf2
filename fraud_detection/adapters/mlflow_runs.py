"""MLflow's tracking side for the registry: the experiment, training runs with their model,
metrics, figures and texts, and each run's lineage. ``Registry`` (adapters/registry.py) is this
plus the registered versions and their aliases."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import mlflow
from mlflow.entities import Metric, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from fraud_detection.config import Settings
from fraud_detection.core.lineage import PartitionRef, RunRecord, lineage_hash

if TYPE_CHECKING:
    import xgboost as xgb

MODEL_ARTIFACT = "model"
LINEAGE_ARTIFACT = "lineage.json"  # the partitions a training run used
_FLUENT_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


class MlflowRuns:
    """Runs of the experiment in ``settings`` through ``client`` (set by the subclass)."""

    settings: Settings
    client: MlflowClient

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
    def fluent_store(self) -> Iterator[None]:
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

    def log_model_run(self, model: xgb.XGBModel | xgb.Booster, run: RunRecord) -> tuple[str, str]:
        """Log one training run with its model in XGBoost's own format → (run_id, model_uri)."""
        import xgboost as xgb

        experiment_id = self.experiment_id()
        with (
            self.fluent_store(),
            mlflow.start_run(experiment_id=experiment_id, run_name=run.name) as started,
        ):
            mlflow.set_tags(dict(run.tags))
            mlflow.log_params({k: str(v) for k, v in run.params.items()})
            mlflow.log_metrics({k: float(v) for k, v in run.metrics.items()})
            mlflow.log_dict(
                {
                    "partitions": [r.__dict__ for r in run.lineage],
                    "sha256": lineage_hash(run.lineage),
                },
                LINEAGE_ARTIFACT,
            )
            for path, figure in run.figures.items():
                mlflow.log_figure(figure, path)
            for path, body in run.texts.items():
                mlflow.log_text(body, path)
            info = mlflow.xgboost.log_model(
                model,
                name=MODEL_ARTIFACT,
                model_format="ubj",
                pip_requirements=[f"xgboost=={xgb.__version__}"],
            )
            return started.info.run_id, info.model_uri

    def log_figures(self, run_id: str, figures: Mapping[str, Any]) -> None:
        """Matplotlib figures into a run's artifacts (path → figure)."""
        for path, figure in figures.items():
            self.client.log_figure(run_id, figure, path)

    def log_to_run(
        self,
        run_id: str,
        *,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        text: Mapping[str, str] | None = None,
    ) -> None:
        """Add results to a finished run (evaluation, decision, report): metrics and tags in one
        batch, so a failure leaves all of them or none, and a retry writes the same values."""
        stamp = int(time.time() * 1000)
        if metrics or tags:
            self.client.log_batch(
                run_id,
                metrics=[Metric(k, float(v), stamp, 0) for k, v in (metrics or {}).items()],
                tags=[RunTag(k, v) for k, v in (tags or {}).items()],
            )
        for path, body in (text or {}).items():
            self.client.log_text(run_id, body, path)

    def log_run(self, run: RunRecord) -> str:
        """A run without a model (a monitor report): tags, params, metrics, texts → its id."""
        created = self.client.create_run(
            self.experiment_id(), run_name=run.name, tags=dict(run.tags)
        )
        run_id: str = created.info.run_id
        for key, value in run.params.items():
            self.client.log_param(run_id, key, str(value))
        self.log_to_run(run_id, metrics=run.metrics, text=run.texts)
        self.client.set_terminated(run_id)
        return run_id

    def run_lineage(self, run_id: str) -> list[PartitionRef]:
        """The partitions a run trained on (its ``lineage.json``; [] if none)."""
        with tempfile.TemporaryDirectory() as scratch:
            try:
                path = self.client.download_artifacts(run_id, LINEAGE_ARTIFACT, scratch)
            except (MlflowException, OSError):
                return []  # a model registered from a file has no lineage
            with open(path) as handle:
                listed = json.load(handle)["partitions"]
        return [PartitionRef(p["name"], p["path"], p["sha256"]) for p in listed]
