"""Signed records survive MLflow's string tags; a half-written change is never misread."""

from __future__ import annotations

from fraud_detection.core.signatures import (
    AliasChange,
    Answer,
    ChangeKind,
    ReviewRecord,
    Suspension,
    changes_from_tags,
)


def test_changes_round_trip_in_order_and_a_half_written_one_is_skipped() -> None:
    first = AliasChange("t1", "champion", "", "1", ChangeKind.RULE, rule="better on log-loss")
    second = AliasChange("t2", "champion", "1", "2", ChangeKind.REVIEW, "Ada", note="ok")
    tags = {**second.to_tags(2), **first.to_tags(1), "alias_change.00003.at": "t3", "x": "y"}

    assert changes_from_tags(tags) == [(1, first), (2, second)]
    assert first.signed_by == "rule (rule)" and second.signed_by == "Ada"


def test_review_and_suspension_records_round_trip() -> None:
    record = ReviewRecord(Answer.REJECTED, "Bo", "too few frauds", "t")
    assert ReviewRecord.from_tags(record.to_tags()) == record
    assert ReviewRecord.from_tags({"review_by": "Bo"}) is None
    stopped = Suspension("Ada", "audit", "t")
    assert Suspension.from_tags(stopped.to_tags()) == stopped
    assert Suspension.from_tags({}) is None
