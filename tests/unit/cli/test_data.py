"""`fraud-detection ingest --labels-as-of`: the delivery says when its labels were taken."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from fraud_detection.adapters.lake import Lake
from fraud_detection.config import Settings
from fraud_detection_cli.main import app

runner = CliRunner()


def test_each_delivery_keeps_its_own_labels_date(settings: Settings, tmp_path: Path) -> None:
    args = ["seed-data", "--months", "1", "--rows-per-month", "300", "--base-rows", "1000"]
    assert runner.invoke(app, args).exit_code == 0
    lake = Lake.from_settings(settings)
    assert lake.labels_as_of("2025-01") is None  # the first delivery does not say

    corrected = tmp_path / "corrected.parquet"
    lake.read("2025-01").head(250).to_parquet(corrected, index=False)
    result = runner.invoke(
        app, ["ingest", "2025-01", str(corrected), "--labels-as-of", "2025-03-15"]
    )
    assert result.exit_code == 0, result.output
    assert "labels as of 2025-03-15" in " ".join(result.output.split())
    assert lake.labels_as_of("2025-01") == date(2025, 3, 15)

    refused = runner.invoke(app, ["ingest", "2025-01", str(corrected), "--labels-as-of", "15/3"])
    assert refused.exit_code == 2 and "Traceback" not in refused.output
