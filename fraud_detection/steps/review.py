"""The review of a held month: what a reviewer is asked, their answer, and what it does.

A month is held when the rule would promote but a person must weigh something first (the
checks' holds, or ``FRAUD_PROMOTION_APPROVAL=required``). The same answer comes from the Prefect
UI's form or from ``fraud-detection review``: an approval promotes the held version through the
lock and compare-and-set like any promotion; a rejection keeps the champion. Either way the
answer is signed on the version, and a promotion in the decision log."""

from __future__ import annotations

from dataclasses import dataclass

from fraud_detection.core.holds import Hold
from fraud_detection.core.signatures import AliasChange, Answer, ChangeKind, ReviewRecord
from fraud_detection.core.tags import Role, Verdict, VersionTags, utc_now
from fraud_detection.settings.review import ReviewSettings
from fraud_detection.settings.storage import StorageSettings
from fraud_detection.steps.ports import DecisionWriter, RegistryReader, VersionView
from fraud_detection.steps.signing import DecisionRecord, SignatureRequired

APPROVAL_CHECK = "approval"


class ReviewError(ValueError):
    """A review that cannot be given as asked (no such held month, answered already)."""


@dataclass(frozen=True)
class ReviewAnswer:
    """A reviewer's answer: approve or reject, their name, why."""

    approve: bool
    by: str
    note: str = ""


@dataclass(frozen=True)
class Pending:
    """A held month awaiting a person."""

    month: str
    version: str
    champion_then: str  # the champion it was judged against (compare-and-set on approval)
    reason: str


@dataclass(frozen=True)
class ReviewOutcome:
    """What an answer left: the version, the answer, the champion after it, the change."""

    month: str
    version: str
    answer: Answer
    champion: str  # the champion after the answer
    change: AliasChange | None


def approval_holds(settings: ReviewSettings) -> list[Hold]:
    """With ``FRAUD_PROMOTION_APPROVAL=required`` every promotion waits for a named person."""
    if settings.promotion_approval != "required":
        return []
    return [
        Hold(
            APPROVAL_CHECK,
            "FRAUD_PROMOTION_APPROVAL=required: a named person approves every promotion.",
        )
    ]


def review_of(version: VersionView) -> ReviewRecord | None:
    return ReviewRecord.from_tags(version.tags.other)


def pending(registry: RegistryReader) -> list[Pending]:
    """Held months nobody has answered yet, oldest first."""
    waiting = [
        Pending(
            v.tags.month or "",
            v.version,
            v.tags.compared_with or "",
            v.tags.decision_reason or "",
        )
        for v in registry.versions()
        if v.tags.decision is Verdict.HELD
        and v.tags.role is not Role.REFIT
        and review_of(v) is None
    ]
    return sorted(waiting, key=lambda p: p.month)


def held_version(registry: RegistryReader, month: str) -> Pending:
    """The held version of ``month``, or why there is nothing to review."""
    for found in pending(registry):
        if found.month == month:
            return found
    answered = [
        v
        for v in registry.versions()
        if v.tags.month == month and v.tags.decision is Verdict.HELD and review_of(v)
    ]
    if answered:
        record = review_of(answered[-1])
        assert record is not None
        raise ReviewError(f"{month} was already {record.answer} by {record.by} at {record.at}")
    raise ReviewError(f"{month} is not held for review (see `fraud-detection status`)")


def answer(
    registry: DecisionWriter,
    log: DecisionRecord,
    settings: StorageSettings,
    month: str,
    given: ReviewAnswer,
) -> ReviewOutcome:
    """Apply a reviewer's answer to a held month: promote on approval, sign either way."""
    if not given.by.strip():
        raise SignatureRequired("a review needs the reviewer's name")
    held = held_version(registry, month)
    record = ReviewRecord(
        Answer.APPROVED if given.approve else Answer.REJECTED, given.by, given.note, utc_now()
    )
    change = None
    if given.approve:
        # compare-and-set: refused if the champion moved since the month was judged
        registry.promote(held.version, expected_champion=held.champion_then or None)
        change = AliasChange(
            record.at,
            settings.champion_alias,
            held.champion_then,
            held.version,
            ChangeKind.REVIEW,
            given.by,
            f"held month {month} approved: {held.reason}"[:4000],
            given.note,
        )
        log.record(change)
    # the answer last: until it is written the month is still listed as awaiting review
    registry.set_tags(held.version, VersionTags(other=record.to_tags()))
    champion = registry.champion()
    return ReviewOutcome(
        month, held.version, record.answer, champion.version if champion else "", change
    )


def form_description(held: Pending, report: str | None) -> str:
    """What the reviewer reads above the form: the verdict, then the month's whole report."""
    head = (
        f"# Review of {held.month}: version {held.version} is held\n\n"
        f"{held.reason}\n\n"
        f"Approve to serve version {held.version} in place of version "
        f"{held.champion_then or '(none)'}; reject to keep the champion. "
        "Give your name and say why: the answer is signed and kept in the model's history.\n\n"
    )
    return head + (report or "(the month's report was not found in its MLflow run)")
