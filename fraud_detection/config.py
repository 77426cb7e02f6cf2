"""Every knob of the project in one place: environment variables (prefix ``FRAUD_``) and ``.env``."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from fraud_detection.core.bands import RiskBands
from fraud_detection.core.params import (
    GateRule,
    MonitorLimits,
    TrainingPlan,
)
from fraud_detection.core.redact import redact_uri
from fraud_detection.settings.capacity import CapacitySettings
from fraud_detection.settings.capture import CaptureSettings
from fraud_detection.settings.fairness import FairnessSettings
from fraud_detection.settings.judging import JudgingSettings
from fraud_detection.settings.monitoring import MonitoringSettings
from fraud_detection.settings.review import ReviewSettings
from fraud_detection.settings.serving import ServingSettings
from fraud_detection.settings.storage import StorageSettings
from fraud_detection.settings.training import TrainingSettings
from fraud_detection.settings.watching import WatchingSettings

PromotionLockKind = Literal["lake", "postgres", "prefect"]


class Settings(
    StorageSettings,
    TrainingSettings,
    JudgingSettings,
    FairnessSettings,
    CapacitySettings,
    ReviewSettings,
    ServingSettings,
    CaptureSettings,
    MonitoringSettings,
    WatchingSettings,
    BaseSettings,
):
    """Where data, runs and models live, and how models are trained and judged.

    The defaults run everything on one laptop (a local folder as the lake, SQLite for MLflow);
    pointing ``FRAUD_LAKE_URI`` at ``s3://…`` and ``FRAUD_MLFLOW_TRACKING_URI`` at a server is
    all it takes to use the cloud.
    """

    model_config = SettingsConfigDict(
        env_prefix="FRAUD_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    @cached_property
    def lake(self) -> str:
        return self.lake_uri or str((self.data_dir / "lake").resolve())

    @cached_property
    def tracking_uri(self) -> str:
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.data_dir / 'mlflow.db').resolve()}"

    @cached_property
    def capture_spill_path(self) -> Path:
        return (self.capture_spill_dir or self.data_dir / "capture-spill").resolve()

    @cached_property
    def artifact_location(self) -> str | None:
        if self.mlflow_artifact_location:
            return self.mlflow_artifact_location
        if self.tracking_uri.startswith("sqlite:"):
            return (self.data_dir / "mlartifacts").resolve().as_uri()
        return None  # a tracking server decides (e.g. --artifacts-destination)

    @cached_property
    def promotion_lock_kind(self) -> PromotionLockKind:
        """The lock every promotion takes, resolved from the configuration alone (so every
        process with the same configuration takes the same one)."""
        if self.promotion_lock != "auto":
            return self.promotion_lock
        if self.tracking_uri.startswith("postgresql"):
            return "postgres"
        return "prefect" if self.prefect_api_url else "lake"

    def storage_options(self) -> dict[str, Any]:
        """fsspec options for the lake (empty for a local folder)."""
        if not self.lake.startswith("s3://"):
            return {}
        options: dict[str, Any] = {}
        if self.s3_endpoint_url:
            options["endpoint_url"] = self.s3_endpoint_url
        if self.s3_access_key_id and self.s3_secret_access_key:
            options["key"] = self.s3_access_key_id.get_secret_value()
            options["secret"] = self.s3_secret_access_key.get_secret_value()
        return options

    def training_plan(self) -> TrainingPlan:
        return TrainingPlan(
            history_half_life=self.history_half_life_months,
            recent_months=self.recent_months,
            recent_half_life=self.recent_half_life_months,
            correction_rounds=self.correction_rounds,
            correction_learning_rate=self.correction_learning_rate,
            correction_max_depth=self.correction_max_depth,
            train_positive_rate=self.train_positive_rate,
            validation_fraction=self.validation_fraction,
            excluded_inputs=tuple(self.excluded_inputs),
        )

    def gate_rule(self) -> GateRule:
        return GateRule(
            mode=self.gate_mode,
            statistic=self.gate_statistic,
            tolerance=self.gate_tolerance,
            margin=self.promotion_margin,
            confidence=self.gate_confidence,
        )

    def risk_bands(self) -> RiskBands:
        return RiskBands(self.risk_low, self.risk_high)

    def monitor_limits(self) -> MonitorLimits:
        return MonitorLimits(
            max_drifted_share=self.monitor_max_drifted_share,
            alert_on_score_drift=self.monitor_alert_on_score_drift,
            max_rejected_rate=self.monitor_max_rejected_rate,
        )

    def public_params(self) -> dict[str, str]:
        """Settings safe to log (no secrets, no credentials in URIs)."""
        return {
            "lake": redact_uri(self.lake),
            "model_name": self.model_name,
            "gate_mode": self.gate_mode,
            "gate_statistic": self.gate_statistic,
            "gate_tolerance": str(self.gate_tolerance),
            "promotion_margin": str(self.promotion_margin),
            "gate_confidence": str(self.gate_confidence),
            "alarm_auc_drop": str(self.alarm_auc_drop),
            "alarm_rate_factor": str(self.alarm_rate_factor),
            "history_half_life_months": str(self.history_half_life_months),
            "recent_months": str(self.recent_months),
            "recent_half_life_months": str(self.recent_half_life_months),
            "correction_rounds": str(self.correction_rounds),
            "correction_learning_rate": str(self.correction_learning_rate),
            "correction_max_depth": str(self.correction_max_depth),
            "history_floor": str(self.history_floor),
            "refit_on_promotion": str(self.refit_on_promotion),
            "seed": str(self.seed),
            "train_positive_rate": str(self.train_positive_rate),
            "validation_fraction": str(self.validation_fraction),
            "holdout_fraction": str(self.holdout_fraction),
            **{f"xgb_{k}": str(v) for k, v in self.xgb.model_dump().items()},
        }


def get_settings(**overrides: Any) -> Settings:
    """Read settings now (never at import time), with explicit overrides for tests and the CLI."""
    return Settings(**overrides)


def settings_problem() -> str | None:
    """Why the settings from the environment (and ``.env``) cannot be used, in one line; None when
    they can. For a process that must refuse to start rather than fail on every request later.
    Names the variables, never their values (one may be a secret)."""
    from pydantic import ValidationError

    try:
        get_settings()
    except ValidationError as exc:
        return "; ".join(_explained(error["loc"], error["msg"]) for error in exc.errors())
    return None


def _explained(location: tuple[int | str, ...], message: str) -> str:
    message = message.removeprefix("Value error, ")
    if not location:  # a rule across fields (risk_low ≤ risk_high)
        return message
    variable = "FRAUD_" + "__".join(str(part) for part in location).upper()
    return message if variable in message else f"{variable}: {message}"
