"""Changes by hand are signed; unsigned ones are refused when approval is required; a stop and
a restart are signed too; the history reads newest first."""

from __future__ import annotations

import pytest

from fraud_detection.config import Settings
from fraud_detection.core.signatures import ChangeKind
from fraud_detection.core.tags import VersionTags
from fraud_detection.steps import signing
from fraud_detection.steps.signing import SignatureRequired
from tests.support.decisions import InMemoryDecisionLog, RollbackRegistry


@pytest.fixture
def registry() -> RollbackRegistry:
    book = RollbackRegistry()
    for n in (1, 2):
        book.register_version(f"m{n}", f"run-{n}", VersionTags(month=f"2025-0{n}"))
    return book


def test_rule_promotion_hand_promotion_and_rollback_are_listed_newest_first(
    registry: RollbackRegistry, settings: Settings
) -> None:
    log = InMemoryDecisionLog()
    registry.promote("1", expected_champion=None)
    signing.sign_rule_promotion(log, settings, None, "1", "non-inferior on log-loss")
    signing.promote_by_hand(registry, log, settings, "2", by="Ada", note="fixes 2025-02")
    signing.rollback_by_hand(registry, log, settings, by="Bo", note="complaints")

    kinds = [(c.kind, c.from_version, c.to_version, c.signed_by) for c in signing.history(log)]
    assert kinds == [
        (ChangeKind.ROLLBACK, "2", "1", "Bo"),
        (ChangeKind.PROMOTE, "1", "2", "Ada"),
        (ChangeKind.RULE, "", "1", "rule (rule)"),
    ]
    assert registry.champion().version == "1"  # type: ignore[union-attr]


def test_a_rule_that_moved_nothing_signs_nothing(settings: Settings) -> None:
    log = InMemoryDecisionLog()
    assert signing.sign_rule_promotion(log, settings, "1", "1", "same") is None
    assert log.changes() == []


def test_unsigned_changes_are_refused_when_approval_is_required(
    registry: RollbackRegistry, settings: Settings
) -> None:
    required = settings.model_copy(update={"promotion_approval": "required"})
    log = InMemoryDecisionLog()

    with pytest.raises(SignatureRequired, match="--by"):
        signing.promote_by_hand(registry, log, required, "1", by="", note="")
    assert registry.champion() is None and log.changes() == []
    signing.promote_by_hand(registry, log, settings, "1", by="", note="")  # the rule's default
    assert registry.champion().version == "1"  # type: ignore[union-attr]


def test_suspend_and_resume_are_signed_and_resume_says_when_nothing_was_stopped(
    settings: Settings,
) -> None:
    log = InMemoryDecisionLog()
    assert signing.resume(log, settings, by="Ada", note="") is False

    stopped = signing.suspend(log, settings, by="Ada", note="audit of group figures")
    assert log.suspension() == stopped and "suspended by Ada" in stopped.message
    assert signing.resume(log, settings, by="Bo", note="audit done") is True
    assert log.suspension() is None
    assert [c.kind for c in signing.history(log)] == [ChangeKind.RESUME, ChangeKind.SUSPEND]
    with pytest.raises(SignatureRequired):
        signing.suspend(log, settings, by="", note="")
