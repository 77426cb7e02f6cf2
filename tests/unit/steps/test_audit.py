"""The audit of one application's scores (steps/audit.py, `fraud-detection scored`) on captured
scores in a lake folder, written as the service writes them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from typer.testing import CliRunner

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.config import Settings
from fraud_detection.core.training import TrainedModel
from fraud_detection.steps.audit import scorings
from fraud_detection_cli.main import app
from tests.support.traffic import captured

DAY = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


def _traffic(store: ScoredStore, frame: pd.DataFrame, trained: TrainedModel) -> int:
    """Twenty applications scored by version 3 two days ago and again today by version 4, the
    first of them twice today → its id."""
    booster = trained.booster
    old, new = frame.head(20), frame.head(20)
    store.write(
        captured(old, booster, version="3", threshold=0.3, scored_at=DAY - timedelta(days=2)), "a"
    )
    store.write(captured(new, booster, version="4", threshold=0.9, scored_at=DAY), "b")
    again = frame.head(1)
    store.write(
        captured(again, booster, version="4", threshold=0.9, scored_at=DAY + timedelta(hours=1)),
        "b",
    )
    return int(frame["SK_ID_CURR"].iloc[0])


def test_every_scoring_of_an_application_oldest_first_and_since_a_day(
    settings: Settings, month_frame: pd.DataFrame, trained: TrainedModel
) -> None:
    store = ScoredStore(Lake.from_settings(settings))
    application = _traffic(store, month_frame, trained)
    found = scorings(store, application)
    assert [(s.scored_at, s.model_version) for s in found] == [
        (DAY - timedelta(days=2), "3"),
        (DAY, "4"),
        (DAY + timedelta(hours=1), "4"),
    ]
    assert found[0].probability == found[1].probability  # the same booster, unrounded
    assert [s.is_fraud for s in found] == [
        found[0].probability >= 0.3,
        *[found[0].probability >= 0.9] * 2,
    ]
    assert found[1].decision == ("fraud" if found[1].is_fraud else "not fraud")
    assert [s.model_version for s in scorings(store, application, since=DAY.date())] == ["4", "4"]
    assert scorings(store, 1) == []  # never scored
    assert scorings(store, application, since=date(2025, 3, 15)) == []


def test_the_scored_command_prints_them_as_json_and_as_a_table(
    settings: Settings, month_frame: pd.DataFrame, trained: TrainedModel
) -> None:
    application = _traffic(ScoredStore(Lake.from_settings(settings)), month_frame, trained)
    runner = CliRunner()
    result = runner.invoke(app, ["scored", str(application), "--json", "--since", "2025-03-13"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [(s["model_version"], s["scored_at"]) for s in listed] == [
        ("4", "2025-03-14T09:30:00+00:00"),
        ("4", "2025-03-14T10:30:00+00:00"),
    ]
    assert set(listed[0]) >= {"probability", "risk_level", "is_fraud", "decision", "endpoint"}
    table = runner.invoke(app, ["scored", str(application)])
    assert table.exit_code == 0 and table.stdout.count("/predict") == 3, table.output
    assert "not scored" in runner.invoke(app, ["scored", "1"]).stdout
    bad = runner.invoke(app, ["scored", str(application), "--since", "March"])
    assert bad.exit_code == 1 and "YYYY-MM-DD" in bad.output
