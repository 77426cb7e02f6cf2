"""Every knob of the project in one place: environment variables (prefix ``FRAUD_``) and ``.env``."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fraud_detection.config_capacity import CapacitySettings
from fraud_detection.config_capture import CaptureSettings
from fraud_detection.config_fairness import FairnessSettings
from fraud_detection.config_review import ReviewSettings
from fraud_detection.config_watching import WatchingSettings
from fraud_detection.core.bands import RiskBands
from fraud_detection.core.params import (
    GateMode,
    GateRule,
    GateStatistic,
    MonitorLimits,
    TrainingPlan,
    XGBoostParams,
)
from fraud_detection.core.redact import redact_uri

DEFAULT_DATA_DIR = Path("data")
PromotionLockKind = Literal["lake", "postgres", "prefect"]


class Settings(
    CapacitySettings,
    WatchingSettings,
    ReviewSettings,
    FairnessSettings,
    CaptureSettings,
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

    data_dir: Path = Field(
        DEFAULT_DATA_DIR, description="folder of the embedded defaults: the lake, SQLite, spill"
    )
    lake_uri: str = Field(
        "", description="Local folder or s3://bucket/prefix; default <data_dir>/lake"
    )
    mlflow_tracking_uri: str = Field(
        "",
        validation_alias=AliasChoices("FRAUD_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI"),
        description="Default: SQLite file <data_dir>/mlflow.db",
    )
    mlflow_artifact_location: str = Field(
        "", description="Artifact root for a new experiment; default <data_dir>/mlartifacts"
    )
    experiment_name: str = Field("fraud-detection", description="MLflow experiment of every run")
    model_name: str = Field("fraud-detector", description="registered model in MLflow's registry")
    champion_alias: str = Field("champion", description="alias of the version the service serves")
    challenger_alias: str = Field("challenger", description="alias of the latest judged candidate")

    # The promotion gate (see decision.py): a paired per-row test of a proper score.
    gate_mode: GateMode = Field(
        "non_inferiority", description="promote unless worse (non_inferiority) or only if better"
    )
    gate_statistic: GateStatistic = Field(
        "log_loss", description="per-application score the gate pairs: log_loss or brier"
    )
    gate_tolerance: float = Field(
        0.025, ge=0, lt=1, description="non-inferiority margin, share of the champion's loss"
    )
    promotion_margin: float = Field(
        0.0, ge=0, lt=1, description="superiority margin, share of the champion's loss"
    )
    gate_confidence: float = Field(
        0.95, gt=0.5, lt=1, description="one-sided confidence of the gate's bound"
    )
    # Threshold metric shown beside the gate in reports (F1, precision and recall are all logged).
    bootstrap_samples: int = Field(
        200, ge=50, description="resamples of the intervals in the report (PR-AUC, groups)"
    )
    # The data alarm: the champion's ranking collapsed, or the fraud rate jumped.
    alarm_auc_drop: float = Field(
        0.10, gt=0, le=1, description="data alarm: drop of the champion's ROC-AUC on the month"
    )
    alarm_rate_factor: float = Field(
        2.0, gt=1, description="data alarm: factor the fraud rate moved by against recent months"
    )
    seed: int = Field(1237, description="random seed of splits, training and resampling")

    xgb: XGBoostParams = Field(
        XGBoostParams(), description="XGBoost's parameters, e.g. FRAUD_XGB__MAX_DEPTH"
    )
    # Training that follows drift (see training.py); chosen by bench/decisions.py.
    history_half_life_months: float = Field(
        3.0, ge=0, description="a month's weight halves every this many months (0 = no decay)"
    )
    recent_months: int = Field(
        2, ge=1, description="newest months the correction stage learns from"
    )
    recent_half_life_months: float = Field(
        1.0, ge=0, description="half-life of the correction stage's months"
    )
    correction_rounds: int = Field(
        40, ge=0, description="trees of the correction stage (0 = no correction stage)"
    )
    correction_learning_rate: float = Field(
        0.05, gt=0, le=1, description="learning rate of the correction stage"
    )
    correction_max_depth: int = Field(4, ge=1, description="tree depth of the correction stage")
    history_floor: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="partitions whose history weight 0.5 ** (age / half-life) is below this "
        "leave the pool (0 = every month is trained on)",
    )
    external_memory_rows: int = Field(
        0,
        ge=0,
        description="from this many pool rows on, XGBoost keeps the quantised pool in a disk "
        "cache instead of memory (ExtMemQuantileDMatrix; 0 = never)",
    )
    refit_on_promotion: bool = Field(
        True, description="serve the promoted recipe refitted on the whole month, holdout included"
    )
    train_positive_rate: float = Field(
        0.25, gt=0, lt=1, description="frauds are weighted up to this share in training"
    )
    validation_fraction: float = Field(
        0.2, gt=0, lt=1, description="share of the month's training part the threshold is cut on"
    )
    holdout_fraction: float = Field(
        0.5, gt=0, lt=1, description="share of the month held out to judge both models on"
    )
    min_slice_positives: int = Field(
        5,
        ge=1,
        description="frauds (and non-frauds) a month's holdout and validation slice must each "
        "hold; a smaller month is quarantined: it can neither be judged nor given a threshold",
    )
    default_threshold: float = Field(
        0.25, gt=0, lt=1, description="threshold of a model registered without one"
    )
    dask_address: str = Field(
        "",
        description="scheduler of an existing Dask cluster (tcp://host:8786) the training task "
        "fits on, its workers reading the lake themselves; empty: this process fits",
    )

    risk_low: float = Field(0.25, ge=0, le=1, description="probability from which risk is medium")
    risk_high: float = Field(0.45, ge=0, le=1, description="probability from which risk is high")

    # S3 credentials for the lake; boto3's own variables are honoured too.
    s3_endpoint_url: str | None = Field(
        None,
        validation_alias=AliasChoices("FRAUD_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL"),
        description="S3 endpoint (SeaweedFS, MinIO…); default AWS",
    )
    s3_access_key_id: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("FRAUD_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
        description="S3 key id (secret); default boto3's usual chain",
    )
    s3_secret_access_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("FRAUD_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"),
        description="S3 secret key (secret); default boto3's usual chain",
    )

    # Promotions, one at a time (adapters/stores.py): "auto" takes PostgreSQL's advisory lock when
    # MLflow's store is PostgreSQL, else Prefect's global concurrency limit when a Prefect server
    # is configured (PREFECT_API_URL), else a lease in the lake. Every process that promotes must
    # resolve to the same lock: pin it here when their configurations differ.
    promotion_lock: Literal["auto", "lake", "postgres", "prefect"] = Field(
        "auto", description="the lock every promotion takes (auto: from the configuration)"
    )
    promotion_lock_ttl_s: float = Field(
        30.0, ge=2, description="lake lease: a dead holder's lease expires after this long"
    )
    promotion_lock_wait_s: float = Field(
        90.0, gt=0, description="how long a promotion waits for the lock before giving up"
    )
    prefect_api_url: str = Field(
        "",
        validation_alias=AliasChoices("PREFECT_API_URL"),
        description="Prefect server's API; empty: Prefect's temporary local API",
    )

    # Serving
    api_key: SecretStr | None = Field(
        None, description="key clients send in X-API-Key (secret); none: scoring open"
    )
    refresh_interval_s: float = Field(
        30.0, gt=0, description="how often the service checks the champion alias"
    )
    max_records_per_request: int = Field(
        10_000, ge=1, description="records one scoring request may carry"
    )
    # Threads per prediction call. One: concurrent requests already keep the cores busy, and on a
    # loaded machine OpenMP's hand-off between threads costs more than a request-sized batch.
    predict_threads: int = Field(1, ge=0, description="threads per prediction call (0 = all cores)")

    # Capture of served scores (fraud_detection/serving/capture.py): every scored record goes to
    # the lake's scored/ in batches written off the request path, through a local spill folder.
    capture_enabled: bool = Field(True, description="keep every served score in the lake")
    capture_sample_rate: float = Field(
        1.0, ge=0, le=1, description="share of scoring requests whose records are kept"
    )
    capture_flush_records: int = Field(
        10_000, ge=1, description="a batch is written when this many records wait ..."
    )
    capture_flush_interval_s: float = Field(60.0, gt=0, description="... or this often")
    capture_max_buffered_records: int = Field(
        100_000, ge=1, description="records held in memory at most; more are dropped, counted"
    )
    capture_spill_dir: Path | None = Field(
        None,
        description="local folder batches wait in until the lake has them; default <data_dir>/capture-spill",
    )
    capture_retry_interval_s: float = Field(
        30.0, gt=0, description="how often batches are sent again while the lake fails"
    )

    # Watching the served model (the monitor flow; docs/watching.md).
    capture_retention_days: int = Field(
        183,
        ge=1,
        description=(
            "days captured scores are kept in the lake (applied by monitor); 183 by default: "
            "the EU AI Act (Art. 12, 19, 26(6)) asks that a high-risk system's logs be kept "
            "at least six months"
        ),
    )
    monitor_window_days: int = Field(7, ge=1, description="days of traffic a monitor run reads")
    monitor_reference_rows: int = Field(
        5_000, ge=200, description="rows sampled from the champion's training data as reference"
    )
    monitor_sample_rows: int = Field(
        20_000, ge=200, description="rows of the window's traffic sampled for the drift tests"
    )
    # Past these limits the monitor emits a Prefect event and marks its report.
    monitor_max_drifted_share: float = Field(
        0.1, ge=0, le=1, description="share of the 54 inputs that may drift"
    )
    monitor_alert_on_score_drift: bool = Field(
        True, description="a drift of the served probability raises the event"
    )
    monitor_max_rejected_rate: float = Field(
        0.05, ge=0, le=1, description="share of requests refused with a 4xx"
    )

    @field_validator("api_key")
    @classmethod
    def _api_key_not_blank(cls, key: SecretStr | None) -> SecretStr | None:
        # An empty variable (a templated value, an empty Secret) must not switch the key off.
        if key is not None and not key.get_secret_value().strip():
            raise ValueError(
                "FRAUD_API_KEY is set but blank; set it to the key clients must send, "
                "or unset it to leave /predict open"
            )
        return key

    @model_validator(mode="after")
    def _bands_ordered(self) -> Settings:
        if self.risk_low > self.risk_high:
            raise ValueError("risk_low must not exceed risk_high")
        return self

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
