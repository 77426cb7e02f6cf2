"""The replay of captured records: counts and overlap equal a hand count of both models' flags."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.config import Settings
from fraud_detection.core.features import feature_matrix, validate_frame
from fraud_detection.core.tags import VersionTags
from fraud_detection.core.training import TrainedModel
from fraud_detection.sources.synthetic import generate
from fraud_detection.steps import capacity, replay
from fraud_detection.steps.challengers import Challenger
from fraud_detection.steps.judging import HoldoutScores
from tests.support.captured import capture
from tests.support.fakes import InMemoryRegistry, StoredVersion
from tests.support.models import train_small


def scores_of(challenger: Challenger, champion: str | None, threshold: float) -> HoldoutScores:
    empty = np.zeros(0)
    return HoldoutScores(
        "2025-06", challenger, champion, champion, {}, None, empty, empty, None, threshold
    )


def test_counts_and_overlap_equal_a_hand_count(settings: Settings, trained: TrainedModel) -> None:
    other = train_small(seed=8, month_index=4)
    registry = InMemoryRegistry()
    for version, model in (("1", trained), ("2", other)):
        registry.stored.append(StoredVersion(version, None, VersionTags(month="2025-06")))
        registry.models[f"uri-{version}"] = model.booster
        registry.sources[version] = f"uri-{version}"
    frame = validate_frame(generate(2_000, month_index=5, seed=33, id_start=8_000_000)[0])
    store = ScoredStore(Lake.from_settings(settings))
    capture(store, frame, datetime(2025, 6, 10, tzinfo=UTC), days=14)
    traffic = capacity.read_traffic(store, settings, date(2025, 7, 1))
    challenger = Challenger("2025-06", "2", "run", 0.4, "sha", reused=False, positive_rate=0.25)
    result = replay.replay_traffic(registry, settings, scores_of(challenger, "1", 0.3), traffic)

    # By hand: each model on the same applications, straight from the generated frame.
    matrix = feature_matrix(frame)
    old = trained.booster.inplace_predict(matrix) >= 0.3
    new = other.booster.inplace_predict(matrix) >= 0.4
    assert result is not None and result.records == 2_000
    assert result.champion_flagged == int(old.sum()) > 0
    assert result.challenger_flagged == int(new.sum()) > 0
    assert result.both == int((old & new).sum())
    assert sum(new for _, new in result.by_band.values()) == result.challenger_flagged
    markdown = replay.replay_markdown("2025-06", result, traffic)
    assert result.sentence() in markdown and "captured traffic" in markdown
    limit = abs(result.volume_change) / 2 or 0.01
    held = replay.holds_of(
        result,
        settings.model_copy(update={"replay_max_volume_change": limit, "review_capacity": 0.05}),
    )
    assert [hold.check for hold in held] == ["capacity"]
    # without a capacity set, the same change is reported and holds nothing
    unset = settings.model_copy(update={"replay_max_volume_change": limit})
    assert replay.holds_of(result, unset) == []


def test_nothing_replayed_without_a_champion(settings: Settings) -> None:
    challenger = Challenger("2025-06", "2", "run", 0.4, "sha", reused=False, positive_rate=0.25)
    traffic = capacity.Traffic(np.zeros((0, 54), dtype=np.float32), 30.0, True)
    assert (
        replay.replay_traffic(
            InMemoryRegistry(), settings, scores_of(challenger, None, 0.3), traffic
        )
        is None
    )
    assert replay.holds_of(None, settings) == []
    assert "nothing replayed" in replay.replay_markdown("2025-06", None, traffic)
