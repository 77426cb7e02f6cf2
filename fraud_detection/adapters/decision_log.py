"""The signed record in MLflow: alias changes and the suspension as tags of the registered
model (one place for the whole model's history), a version's run figures and its card.

MLflow's own entities stay inside this module, as in registry.py."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from fraud_detection.config import Settings
from fraud_detection.core.signatures import (
    SUSPENSION_KEYS,
    AliasChange,
    Suspension,
    changes_from_tags,
)

CARD_ARTIFACT = "model_card.md"


class DecisionLog:
    """Alias changes, the suspension, run figures and model cards of one registered model."""

    def __init__(self, settings: Settings) -> None:
        self.name = settings.model_name
        self.client = MlflowClient(
            tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri
        )

    def _model_tags(self) -> dict[str, str]:
        try:
            return dict(self.client.get_registered_model(self.name).tags)
        except MlflowException:
            return {}  # no model registered yet: nothing recorded

    # -- alias changes -------------------------------------------------------------------------
    def changes(self) -> list[AliasChange]:
        """Every recorded change, oldest first."""
        return [change for _, change in changes_from_tags(self._model_tags())]

    def record(self, change: AliasChange) -> None:
        """Append a change (its fields first, ``kind`` last: a half-written one is skipped)."""
        numbers = [number for number, _ in changes_from_tags(self._model_tags())]
        tags = change.to_tags(max(numbers, default=0) + 1)
        for key in sorted(tags, key=lambda k: k.endswith(".kind")):
            self.client.set_registered_model_tag(self.name, key, tags[key])

    # -- suspension ----------------------------------------------------------------------------
    def suspension(self) -> Suspension | None:
        return Suspension.from_tags(self._model_tags())

    def suspend(self, suspension: Suspension) -> None:
        for key, value in suspension.to_tags().items():
            self.client.set_registered_model_tag(self.name, key, value)

    def resume(self) -> None:
        # ``suspended_at`` first: once it is gone the model is no longer suspended
        for key in sorted(SUSPENSION_KEYS, key=lambda k: not k.endswith("_at")):
            with contextlib.suppress(MlflowException):
                self.client.delete_registered_model_tag(self.name, key)

    # -- a version's run and card --------------------------------------------------------------
    def run_metrics(self, run_id: str) -> dict[str, float]:
        return dict(self.client.get_run(run_id).data.metrics)

    def run_params(self, run_id: str) -> dict[str, str]:
        return dict(self.client.get_run(run_id).data.params)

    def run_text(self, run_id: str, path: str) -> str | None:
        """A text artifact of a run, or None when the run has none by that name."""
        with tempfile.TemporaryDirectory() as scratch:
            try:
                local = self.client.download_artifacts(run_id, path, scratch)
            except (MlflowException, OSError):
                return None
            return Path(local).read_text()

    def save_card(self, version: str, run_id: str | None, markdown: str, summary: str) -> None:
        """The card in the version's run and its first paragraph as the version's description."""
        if run_id:
            self.client.log_text(run_id, markdown, CARD_ARTIFACT)
        self.client.update_model_version(self.name, version, description=summary[:5000])
