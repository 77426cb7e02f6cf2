"""Where data, runs and models live: the lake, MLflow, S3 credentials, Prefect's API, the promotion lock."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr

DEFAULT_DATA_DIR = Path("data")


class StorageSettings(BaseModel):
    """Where data, runs and models live: the lake, MLflow, S3 credentials, Prefect's API, the promotion lock."""

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
    prefect_api_url: str = Field(
        "",
        validation_alias=AliasChoices("PREFECT_API_URL"),
        description="Prefect server's API; empty: Prefect's temporary local API",
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
