"""Unit fixtures: a per-test SQLite MLflow store and lake in tmp_path, small data, a tiny model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fraud_detection.config import Settings
from fraud_detection.core.features import validate_frame
from fraud_detection.core.training import TrainedModel
from fraud_detection.sources.synthetic import generate
from tests.support.models import train_small


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Embedded defaults under tmp_path; nothing from the developer's shell leaks in."""
    for name in (
        "FRAUD_LAKE_URI",
        "FRAUD_MLFLOW_TRACKING_URI",
        "MLFLOW_TRACKING_URI",
        "AWS_ENDPOINT_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FRAUD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FRAUD_BOOTSTRAP_SAMPLES", "100")
    return Settings()


@pytest.fixture(scope="session")
def month_frame() -> pd.DataFrame:
    frame, _ = generate(1_500, month_index=2, seed=11, id_start=5_000_000)
    return validate_frame(frame)


@pytest.fixture(scope="session")
def trained() -> TrainedModel:
    return train_small(seed=3, month_index=0)
