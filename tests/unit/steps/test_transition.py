"""The verdict applied to the registry: aliases and tags in order, a stale champion refused."""

from __future__ import annotations

import numpy as np
import pytest

from fraud_detection.adapters.registry import StaleChampionError
from fraud_detection.core.alarm import Alarm
from fraud_detection.core.gate import Decision
from fraud_detection.core.lineage import PartitionRef
from fraud_detection.core.tags import Verdict, VersionTags
from fraud_detection.steps import (
    challengers,
    intake,
    judging,
    transition,
)
from tests.support.fakes import InMemoryRegistry, StoredVersion


def _evaluation(decision: Decision, *, alarm: bool = False) -> judging.Evaluation:
    challenger = challengers.Challenger("2025-04", "7", "run-7", 0.3, "sha", False, 0.25)
    scores = judging.HoldoutScores(
        month="2025-04",
        challenger=challenger,
        champion_version="5",
        compared_version="5",
        challenger_metrics={"pr_auc": 0.31, "f1": 0.35},
        champion_metrics={"pr_auc": 0.29, "f1": 0.33},
        y=np.zeros(4000),
        challenger_probability=np.zeros(4000),
        champion_probability=np.zeros(4000),
    )
    reason = "labels look shuffled" if alarm else "ok"
    return judging.Evaluation(
        scores, None, decision, Alarm(alarm, reason, 0.74, 0.75, 0.08, 0.08), None
    )


def _book() -> InMemoryRegistry:
    versions = [StoredVersion(n, None, VersionTags(month="2025-04")) for n in "12345678"]
    return InMemoryRegistry(stored=versions, aliases={"champion": "5"})


def _month() -> intake.MonthData:
    return intake.MonthData(PartitionRef("2025-04", "2025-04/applications-1", "abc"), b"")


def test_a_promotion_serves_the_refit_and_the_decision_tag_comes_last() -> None:
    book = _book()
    outcome = transition.apply_verdict(
        book, _evaluation(Decision.of_gate(True, "better")), _month(), "8"
    )
    assert book.aliases["champion"] == "8" and outcome.served_version == "8"
    assert outcome.champion_version == "8" and outcome.challenger_version == "7"
    moves = [entry for entry in book.journal if entry[0] in ("challenger", "champion")]
    assert moves == [("challenger", "7"), ("champion", "8")]
    assert ("tag", "8", "decision") in book.journal
    assert book.journal[-1] == ("tag", "7", "decision")  # marks the month finished, last
    tags = book.version("7").tags
    assert tags.decision is Verdict.PROMOTED and tags.served_as == "8"
    assert tags.holdout == {"pr_auc": 0.31, "f1": 0.35, "fraud_rate": 0.08}


def test_a_rejection_keeps_the_champion_and_an_alarm_quarantines_the_month() -> None:
    book = _book()
    rejected = transition.apply_verdict(
        book, _evaluation(Decision.of_gate(False, "worse")), _month()
    )
    assert book.aliases["champion"] == "5" and rejected.served_version is None
    assert not book.held and book.version("7").tags.decision is Verdict.REJECTED

    alarmed = _evaluation(Decision(Verdict.QUARANTINED, "alarm"), alarm=True)
    book = _book()
    quarantined = transition.apply_verdict(book, alarmed, _month())
    assert quarantined.decision.verdict is Verdict.QUARANTINED and book.aliases["champion"] == "5"
    assert book.held["2025-04"].reason == "labels look shuffled"
    assert book.held["2025-04"].run_id == "run-7"


def test_a_champion_that_moved_since_the_evaluation_blocks_the_promotion() -> None:
    book = _book()
    book.aliases["champion"] = "6"  # an operator promoted another version meanwhile
    with pytest.raises(StaleChampionError):
        transition.apply_verdict(book, _evaluation(Decision.of_gate(True, "better")), _month())
    assert book.aliases["champion"] == "6" and book.version("7").tags.decision is None
