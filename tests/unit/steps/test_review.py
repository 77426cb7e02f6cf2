"""The review of a held month: who is asked, what an approval or a rejection does, and what is
signed; approvals required by the settings turn every promotion into a held month."""

from __future__ import annotations

import pytest

from fraud_detection.adapters.registry import StaleChampionError
from fraud_detection.config import Settings
from fraud_detection.core.gate import Decision
from fraud_detection.core.holds import held_or
from fraud_detection.core.signatures import Answer, ChangeKind, ReviewRecord
from fraud_detection.core.tags import Role, Verdict, VersionTags
from fraud_detection.steps import review
from fraud_detection.steps.review import ReviewAnswer, ReviewError
from fraud_detection.steps.signing import SignatureRequired
from tests.support.decisions import InMemoryDecisionLog, RollbackRegistry


@pytest.fixture
def registry() -> RollbackRegistry:
    """Version 1 champion; version 2, judged against it for 2025-03, held for a person."""
    book = RollbackRegistry()
    book.register_version("m1", "run-1", VersionTags(month="base", role=Role.BOOTSTRAP))
    book.promote("1", expected_champion=None)
    held = VersionTags(
        month="2025-03",
        role=Role.CHALLENGER,
        compared_with="1",
        decision_reason="Promote by rule. Held for review: women flagged twice as often.",
        decision=Verdict.HELD,
    )
    book.register_version("m2", "run-2", held)
    return book


def test_a_held_month_is_pending_with_the_champion_it_was_judged_against(
    registry: RollbackRegistry,
) -> None:
    [waiting] = review.pending(registry)

    assert (waiting.month, waiting.version, waiting.champion_then) == ("2025-03", "2", "1")
    assert "women flagged" in waiting.reason


def test_an_approval_promotes_the_held_version_and_signs_it(
    registry: RollbackRegistry, settings: Settings
) -> None:
    log = InMemoryDecisionLog(registry)

    done = review.answer(registry, log, settings, "2025-03", ReviewAnswer(True, "Ada", "checked"))

    assert done.champion == "2" and done.answer is Answer.APPROVED
    [change] = log.changes()
    assert (change.kind, change.by, change.from_version, change.to_version) == (
        ChangeKind.REVIEW,
        "Ada",
        "1",
        "2",
    )
    record = ReviewRecord.from_tags(registry.version("2").tags.other)
    assert record is not None and (record.by, record.note) == ("Ada", "checked")
    assert review.pending(registry) == []


def test_a_rejection_keeps_the_champion_and_is_signed_on_the_version(
    registry: RollbackRegistry, settings: Settings
) -> None:
    log = InMemoryDecisionLog(registry)

    done = review.answer(registry, log, settings, "2025-03", ReviewAnswer(False, "Bo", "too few"))

    assert done.champion == "1" and done.change is None and log.changes() == []
    record = ReviewRecord.from_tags(registry.version("2").tags.other)
    assert record is not None and record.answer is Answer.REJECTED and record.by == "Bo"
    with pytest.raises(ReviewError, match="already rejected by Bo"):
        review.answer(registry, log, settings, "2025-03", ReviewAnswer(True, "Cy"))


def test_an_approval_is_refused_when_the_champion_moved_since_the_month_was_judged(
    registry: RollbackRegistry, settings: Settings
) -> None:
    registry.register_version("m3", "run-3", VersionTags(month="external"))
    registry.promote("3", expected_champion="1")

    with pytest.raises(StaleChampionError):
        review.answer(registry, InMemoryDecisionLog(), settings, "2025-03", ReviewAnswer(True, "A"))

    assert registry.champion() is not None and registry.champion().version == "3"  # type: ignore[union-attr]
    assert [p.month for p in review.pending(registry)] == ["2025-03"]  # still waiting


def test_a_review_needs_a_name_and_a_held_month(
    registry: RollbackRegistry, settings: Settings
) -> None:
    log = InMemoryDecisionLog()
    with pytest.raises(SignatureRequired):
        review.answer(registry, log, settings, "2025-03", ReviewAnswer(True, "  "))
    with pytest.raises(ReviewError, match="not held"):
        review.answer(registry, log, settings, "2025-04", ReviewAnswer(True, "Ada"))


def test_required_approval_holds_every_promotion_by_rule(settings: Settings) -> None:
    assert review.approval_holds(settings) == []
    required = settings.model_copy(update={"promotion_approval": "required"})
    holds = review.approval_holds(required)

    decided = held_or(Decision(Verdict.PROMOTED, "Better."), holds)
    assert decided.verdict is Verdict.HELD and "FRAUD_PROMOTION_APPROVAL" in decided.reason
    assert held_or(Decision(Verdict.REJECTED, "Worse."), holds).verdict is Verdict.REJECTED


def test_the_form_description_carries_the_reason_and_the_report(
    registry: RollbackRegistry,
) -> None:
    [waiting] = review.pending(registry)
    text = review.form_description(waiting, "## Groups\n| sex | F |")

    assert text.startswith("# Review of 2025-03: version 2 is held")
    assert "women flagged" in text and "## Groups" in text
