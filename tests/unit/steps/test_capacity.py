"""The capacity cut on a captured window read from the lake (the holdout when too few)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.config import Settings
from fraud_detection.core.capacity import share_flagged
from fraud_detection.core.evaluation import predict_proba
from fraud_detection.core.features import validate_frame
from fraud_detection.core.tags import VersionTags
from fraud_detection.core.training import TrainedModel
from fraud_detection.sources.synthetic import generate
from fraud_detection.steps import capacity
from tests.support.captured import capture
from tests.support.fakes import InMemoryRegistry, StoredVersion

TODAY = date(2025, 7, 1)


def registry_with(trained: TrainedModel) -> InMemoryRegistry:
    registry = InMemoryRegistry()
    registry.stored.append(StoredVersion("7", "run-7", VersionTags(month="2025-06", threshold=0.3)))
    registry.models["uri-7"] = trained.booster
    registry.sources["7"] = "uri-7"
    return registry


@pytest.fixture
def traffic_frame() -> pd.DataFrame:
    frame, _ = generate(4_000, month_index=5, seed=21, id_start=7_000_000)
    return validate_frame(frame)


def test_the_cut_flags_the_capacity_of_the_captured_window(
    settings: Settings, trained: TrainedModel, traffic_frame: pd.DataFrame
) -> None:
    lake = Lake.from_settings(settings)
    store = ScoredStore(lake)
    capture(store, traffic_frame, datetime(2025, 6, 1, tzinfo=UTC), days=30)
    capture(store, traffic_frame.head(500), datetime(2025, 3, 1, tzinfo=UTC), days=5)  # too old
    settings = settings.model_copy(update={"review_capacity": 0.05})
    traffic = capacity.read_traffic(store, settings, TODAY)
    assert traffic.captured and traffic.records == 4_000 and traffic.days == 30
    registry = registry_with(trained)
    threshold = capacity.cut_threshold(registry, settings, "7", traffic)
    assert threshold is not None and registry.version("7").tags.threshold == threshold
    scores = predict_proba(trained.booster, traffic.matrix)
    assert share_flagged(scores, threshold) == pytest.approx(0.05, abs=0.001)


def test_a_weekly_capacity_and_the_holdout_standing_in(
    settings: Settings, trained: TrainedModel, traffic_frame: pd.DataFrame
) -> None:
    settings = settings.model_copy(update={"review_capacity_per_week": 70})
    store = ScoredStore(Lake.from_settings(settings))  # nothing captured
    captured = capacity.read_traffic(store, settings, TODAY)
    holdout = traffic_frame.head(1_000)
    traffic = capacity.traffic_or_holdout(captured, settings, holdout, month_rows=2_000)
    assert not traffic.captured and traffic.records == 1_000
    assert traffic.days == pytest.approx(15.22)  # half the month's rows: half its days
    share = capacity.capacity_of(settings, traffic)
    assert share == pytest.approx(70 / (1_000 * 7 / 15.22))
    threshold = capacity.cut_threshold(registry_with(trained), settings, "7", traffic)
    assert threshold is not None
    flagged = share_flagged(predict_proba(trained.booster, traffic.matrix), threshold)
    assert flagged == pytest.approx(share, abs=0.002)


def test_no_capacity_leaves_the_threshold(settings: Settings, trained: TrainedModel) -> None:
    registry = registry_with(trained)
    frame = validate_frame(generate(300, month_index=1, seed=2)[0])
    traffic = capacity.traffic_or_holdout(None, settings, frame, month_rows=600)
    assert capacity.cut_threshold(registry, settings, "7", traffic) is None
    assert registry.version("7").tags.threshold == 0.3
