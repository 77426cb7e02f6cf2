"""Signed decisions: every change of what is served says who or which rule, when, and why.

An alias change, a review's answer and a suspension are each a small record written as MLflow
tags (strings). They are named, formatted and parsed here only, so the steps speak in records."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

CHANGE_PREFIX = "alias_change."
REVIEW_PREFIX = "review_"
SUSPENSION_PREFIX = "suspended_"
_CHANGE_KEY = re.compile(r"^alias_change\.(\d+)\.(\w+)$")
_CHANGE_FIELDS = ("at", "alias", "from_version", "to_version", "kind", "by", "rule", "note")


class ChangeKind(StrEnum):
    """How an alias came to move (or the service to stop)."""

    RULE = "rule"  # the gate promoted by its rule, unattended
    REVIEW = "review"  # a person approved a held month
    PROMOTE = "promote"  # a person moved the champion by hand
    ROLLBACK = "rollback"  # a person put the previous champion back
    REGISTER = "register"  # a model file registered with an alias
    SUSPEND = "suspend"  # a person stopped scoring
    RESUME = "resume"  # a person let scoring go on


@dataclass(frozen=True)
class AliasChange:
    """One signed change: ``by`` is a person's name, or empty when ``rule`` decided."""

    at: str
    alias: str
    from_version: str
    to_version: str
    kind: ChangeKind
    by: str = ""
    rule: str = ""  # the rule and its figures, for an unattended promotion
    note: str = ""

    @property
    def signed_by(self) -> str:
        """Who answers for the change: the person, or the rule."""
        return self.by or f"rule ({self.kind})"

    def to_tags(self, number: int) -> dict[str, str]:
        values = {name: str(getattr(self, name)) for name in _CHANGE_FIELDS}
        values["rule"] = values["rule"][:4000]
        values["note"] = values["note"][:4000]
        return {f"{CHANGE_PREFIX}{number:05d}.{k}": v for k, v in values.items() if v}

    def as_dict(self) -> dict[str, str]:
        return {name: str(getattr(self, name)) for name in _CHANGE_FIELDS}


def changes_from_tags(tags: Mapping[str, str]) -> list[tuple[int, AliasChange]]:
    """Every change recorded in a registered model's tags, oldest first, with its number."""
    found: dict[int, dict[str, str]] = {}
    for key, value in tags.items():
        if match := _CHANGE_KEY.match(key):
            found.setdefault(int(match.group(1)), {})[match.group(2)] = value
    changes = []
    for number, fields in sorted(found.items()):
        kind = fields.get("kind", "")
        if kind not in set(ChangeKind) or "at" not in fields:
            continue  # a change half-written by a crash: skipped, never misread
        text = {name: fields.get(name, "") for name in _CHANGE_FIELDS if name != "kind"}
        changes.append((number, AliasChange(kind=ChangeKind(kind), **text)))
    return changes


class Answer(StrEnum):
    """A reviewer's answer to a held month."""

    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ReviewRecord:
    """A person's answer to a held month, kept on the held version's tags."""

    answer: Answer
    by: str
    note: str
    at: str

    def to_tags(self) -> dict[str, str]:
        return {
            f"{REVIEW_PREFIX}by": self.by,
            f"{REVIEW_PREFIX}note": self.note[:4000],
            f"{REVIEW_PREFIX}at": self.at,
            f"{REVIEW_PREFIX}answer": self.answer,  # last: the review is complete
        }

    @classmethod
    def from_tags(cls, tags: Mapping[str, str]) -> ReviewRecord | None:
        answer = tags.get(f"{REVIEW_PREFIX}answer")
        if answer not in set(Answer):
            return None
        return cls(
            Answer(answer),
            tags.get(f"{REVIEW_PREFIX}by", ""),
            tags.get(f"{REVIEW_PREFIX}note", ""),
            tags.get(f"{REVIEW_PREFIX}at", ""),
        )


@dataclass(frozen=True)
class Suspension:
    """Scoring stopped by a person: the service answers 503 until someone resumes."""

    by: str
    note: str
    at: str

    def to_tags(self) -> dict[str, str]:
        return {
            f"{SUSPENSION_PREFIX}by": self.by,
            f"{SUSPENSION_PREFIX}note": self.note[:4000],
            f"{SUSPENSION_PREFIX}at": self.at,
        }

    @classmethod
    def from_tags(cls, tags: Mapping[str, str]) -> Suspension | None:
        if not tags.get(f"{SUSPENSION_PREFIX}at"):
            return None
        return cls(
            tags.get(f"{SUSPENSION_PREFIX}by", ""),
            tags.get(f"{SUSPENSION_PREFIX}note", ""),
            tags[f"{SUSPENSION_PREFIX}at"],
        )

    @property
    def message(self) -> str:
        why = f": {self.note}" if self.note else ""
        return (
            f"scoring suspended by {self.by} at {self.at}{why}; `fraud-detection resume` lifts it"
        )


SUSPENSION_KEYS = tuple(Suspension("", "", "").to_tags())
