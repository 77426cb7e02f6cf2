"""The group step on a holdout: both models' figures, the holds, the metrics, table and report."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraud_detection.config import Settings
from fraud_detection.core.contract import NOT_EMPLOYED
from fraud_detection.steps import challengers, judging
from fraud_detection.steps.groups import group_metrics, group_rows, groups_section, judge_groups


def _scores(holdout: pd.DataFrame, *, challenger_flags_pensioners: bool) -> judging.HoldoutScores:
    """Champion and challenger alike, except (when asked) the challenger flags a third of the
    innocent pensioners the champion did not flag."""
    rng = np.random.default_rng(5)
    y = holdout["TARGET"].to_numpy()
    champion = rng.random(len(y)) * 0.6 + 0.3 * y
    challenger = champion.copy()
    if challenger_flags_pensioners:
        pensioner = holdout["DAYS_EMPLOYED"].to_numpy() == NOT_EMPLOYED.value
        raise_it = pensioner & (y == 0) & (rng.random(len(y)) < 0.33)
        challenger[raise_it] = 0.95
    return judging.HoldoutScores(
        month="2025-06",
        challenger=challengers.Challenger("2025-06", "7", "run-7", 0.5, "sha", False, 0.08),
        champion_version="5",
        compared_version="5",
        challenger_metrics={},
        champion_metrics={},
        y=y,
        challenger_probability=challenger,
        champion_probability=champion,
        champion_threshold=0.5,
        champion_trained_rate=0.08,
    )


def test_a_challenger_flagging_more_pensioners_is_held_with_the_group_named(
    settings: Settings, month_frame: pd.DataFrame
) -> None:
    judgement = judge_groups(
        # a small month: the checks judged however few its holdout rows
        settings.model_copy(update={"group_min_holdout": 0}),
        _scores(month_frame, challenger_flags_pensioners=True),
        month_frame,
    )
    assert judgement.holds, "a third more innocent pensioners flagged must hold the month"
    reasons = " ".join(h.reason for h in judgement.holds)
    assert "pensioner = pensioner" in reasons and "FRAUD_GROUP_TOLERANCE" in reasons
    assert {h.check for h in judgement.holds} == {"groups"}
    metrics = group_metrics(judgement)
    assert (
        metrics["group.pensioner.pensioner.selection_rate"]
        > metrics["group.pensioner.pensioner.champion_selection_rate"]
    )
    assert "group.age_band.under_30_years.false_positive_rate" in metrics
    rows = group_rows(judgement)
    assert {r["attribute"] for r in rows} == {"sex", "age_band", "pensioner"}
    assert sum(r["rows"] for r in rows if r["attribute"] == "sex") == len(month_frame)
    section = groups_section(judgement)
    assert section.startswith("## Who gets flagged") and "pensioner = pensioner" in section


def test_a_challenger_that_flags_as_the_champion_did_is_not_held(
    settings: Settings, month_frame: pd.DataFrame
) -> None:
    judgement = judge_groups(
        settings.model_copy(update={"group_min_holdout": 0}),
        _scores(month_frame, challenger_flags_pensioners=False),
        month_frame,
    )
    assert judgement.holds == ()
    assert "about as often as the champion" in groups_section(judgement)


def test_a_holdout_too_small_to_judge_is_reported_but_holds_nothing(
    settings: Settings, month_frame: pd.DataFrame
) -> None:
    # The same challenger, with the default minimum holdout (the month's holdout is smaller)
    scores = _scores(month_frame, challenger_flags_pensioners=True)
    assert scores.holdout_rows < settings.group_min_holdout
    judgement = judge_groups(settings, scores, month_frame)
    assert judgement.comparisons and not judgement.holds
