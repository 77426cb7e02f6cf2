"""How the service answers and keeps what it answered: the key, the champion's refresh, risk bands, the capture."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator


class ServingSettings(BaseModel):
    """How the service answers and keeps what it answered: the key, the champion's refresh, risk bands, the capture."""

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
    risk_low: float = Field(0.25, ge=0, le=1, description="probability from which risk is medium")
    risk_high: float = Field(0.45, ge=0, le=1, description="probability from which risk is high")
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
    def _bands_ordered(self) -> ServingSettings:
        if self.risk_low > self.risk_high:
            raise ValueError("risk_low must not exceed risk_high")
        return self
