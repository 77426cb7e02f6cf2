"""Each group's share flagged on the captured traffic against the champion's reference
(steps/monitor_groups.py, through ``monitor.compare`` and the report)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from fraud_detection.config import Settings
from fraud_detection.core.contract import NOT_EMPLOYED
from fraud_detection.core.features import FEATURES, feature_matrix, validate_frame
from fraud_detection.core.group_spec import BUILT_IN
from fraud_detection.core.monitoring import Traffic, Window
from fraud_detection.core.scored import IS_FRAUD, MODEL_VERSION, PROBABILITY
from fraud_detection.sources.synthetic import generate
from fraud_detection.steps import monitor, monitor_page, monitor_report
from fraud_detection.steps.monitor_groups import FlaggedRows, group_shares

SETTINGS = Settings(monitor_min_records=100, monitor_max_group_shift=0.05)
THRESHOLD = 0.7
WINDOW = Window(date(2025, 3, 8), date(2025, 3, 14))


def _rows(rows: int, seed: int) -> pd.DataFrame:
    """Applications as the model sees them, each with a score drawn the same way."""
    frame, _ = generate(rows, month_index=0, seed=seed)
    features = pd.DataFrame(feature_matrix(validate_frame(frame)), columns=list(FEATURES))
    features[PROBABILITY] = np.random.default_rng([seed, 999]).uniform(size=rows)
    return features


def _pensioners(frame: pd.DataFrame) -> np.ndarray:
    return (frame["DAYS_EMPLOYED"] == NOT_EMPLOYED.value).to_numpy()


def _window(frame: pd.DataFrame, version: str = "3") -> monitor.WindowData:
    sample = frame.assign(**{IS_FRAUD: frame[PROBABILITY] >= THRESHOLD, MODEL_VERSION: version})
    traffic = Traffic(len(sample), len(sample), len(sample), {"2025-03-14": len(sample)})
    return monitor.WindowData(WINDOW, traffic, sample)


def _reference() -> monitor.Reference:
    frame = _rows(3_000, seed=11)
    return monitor.Reference("3", ("base",), len(frame), frame, THRESHOLD)


def test_a_shift_in_one_groups_scores_fires_the_event_naming_that_group() -> None:
    # Given live traffic like the reference, but the pensioners' scores raised by 0.25
    live = _rows(3_000, seed=12)
    pensioners = _pensioners(live)
    assert 200 < pensioners.sum() < 2_800  # both sides above the privacy floor
    live.loc[pensioners, PROBABILITY] = np.minimum(live.loc[pensioners, PROBABILITY] + 0.25, 1)

    result = monitor.compare(_window(live), _reference(), None, SETTINGS)

    # Then the limit passed names the pensioners, and not the rest of that attribute nor either
    # sex (the oldest band, which holds most pensioners, moves with them)
    shifted = {g.name: g for g in result.groups if g.passed}
    assert set(shifted) == {"pensioner=pensioner", "age_band=60 years and over"}
    largest = max(shifted.values(), key=lambda g: abs(g.difference or 0))
    assert largest.name == "pensioner=pensioner" and (largest.difference or 0) > 0.15
    assert result.alert
    assert any("pensioner=pensioner" in line for line in result.passed)
    event = monitor_report.alert_event(result, "fraud-detection", "run-1")
    assert "pensioner=pensioner" in event["payload"]["groups_past_limit"]
    assert "not pensioner" not in " ".join(event["payload"]["groups_past_limit"])
    # And the report, the page and MLflow carry the figures
    markdown = monitor_report.report_markdown(result, tracking_uri="http://mlflow")
    assert "| pensioner | pensioner |" in markdown and "past the limit" in markdown
    assert "Who is flagged, group by group" in monitor_page.page(result)
    metrics = monitor_report.metrics(result)
    assert metrics["group.pensioner.pensioner.selection_rate"] > 0.5
    assert 0.25 < metrics["group.pensioner.pensioner.reference_selection_rate"] < 0.4


def test_traffic_without_a_shift_fires_no_group_limit() -> None:
    result = monitor.compare(_window(_rows(3_000, seed=13)), _reference(), None, SETTINGS)

    assert result.groups  # every group measured ...
    assert not [g.name for g in result.groups if g.passed]  # ... and none past the limit
    assert not any("share flagged" in line for line in result.passed)
    assert monitor_report.alert_event(result, "m", "r")["payload"]["groups_past_limit"] == []


def test_a_shift_of_everyones_scores_is_no_groups_move() -> None:
    # Given every applicant's score raised by 0.15: everyone flagged more, no group singled out
    live = _rows(3_000, seed=12)
    live[PROBABILITY] = np.minimum(live[PROBABILITY] + 0.15, 1)

    result = monitor.compare(_window(live), _reference(), None, SETTINGS)

    assert all((g.difference or 0) > 0.1 for g in result.groups)
    assert not [g.name for g in result.groups if g.passed]


def test_a_group_below_the_privacy_floor_is_counted_but_not_judged() -> None:
    # Given a window of 60 records, every one flagged: far past the limit, but below the floor
    live = _rows(60, seed=14).assign(**{PROBABILITY: 0.99})
    reference = _reference()

    shares = group_shares(
        FlaggedRows(live, np.ones(len(live), dtype=bool)),
        FlaggedRows(reference.frame, reference.frame[PROBABILITY].to_numpy() >= THRESHOLD),
        [BUILT_IN["sex"]],
        floor=100,
        limit=0.05,
    )

    assert sum(s.window_rows for s in shares) == 60
    assert all(s.window is None and not s.passed for s in shares)
    assert all(s.reference is not None for s in shares)


def test_the_shares_are_fairlearns_selection_rate_equal_to_a_hand_count() -> None:
    frame = _rows(400, seed=15)
    flagged = frame[PROBABILITY].to_numpy() >= 0.5
    male = (frame["CODE_GENDER"] == 1).to_numpy()

    shares = {
        s.level: s
        for s in group_shares(
            FlaggedRows(frame, flagged), None, [BUILT_IN["sex"]], floor=1, limit=0.05
        )
    }

    assert shares["male"].window_rows == male.sum()
    assert shares["male"].window == flagged[male].mean()
    assert shares["female"].window == flagged[~male].mean()
    assert shares["male"].reference is None and not shares["male"].passed


def test_records_scored_by_another_version_are_counted_but_not_compared() -> None:
    # Given the pensioners' scores raised, but every record scored by version 2 while the
    # champion (whose reference it would be compared with) is version 3: a promotion in the window
    live = _rows(3_000, seed=12)
    pensioners = _pensioners(live)
    live.loc[pensioners, PROBABILITY] = np.minimum(live.loc[pensioners, PROBABILITY] + 0.25, 1)

    result = monitor.compare(_window(live, version="2"), _reference(), None, SETTINGS)

    # Then no group is judged on another model's decisions: no share in the window, no alert
    assert result.groups and all(g.window is None and not g.passed for g in result.groups)
    assert not any("pensioner" in line for line in result.passed)
