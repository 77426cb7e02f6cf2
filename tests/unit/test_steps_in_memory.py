"""The order of months and the alias transition, on in-memory stand-ins for the lake and registry."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from fraud_detection.adapters.lake import PartitionRef
from fraud_detection.adapters.registry import DECIDED
from fraud_detection.config import Settings
from fraud_detection.core.decision import Alarm, Decision
from fraud_detection.steps.challengers import Challenger
from fraud_detection.steps.intake import MonthData
from fraud_detection.steps.judging import Evaluation, HoldoutScores
from fraud_detection.steps.retraining import already_decided, next_month, transition


@dataclass
class Deliveries:
    """Month → its deliveries' bytes, oldest first (the last one is in force)."""

    months: dict[str, list[bytes]]

    def list_months(self) -> list[str]:
        return sorted(self.months)

    def latest(self, name: str) -> str | None:
        return f"{name}/applications-{len(self.months[name])}" if self.months.get(name) else None

    def fetch(self, name: str) -> tuple[bytes, PartitionRef]:
        raw = self.months[name][-1]
        return raw, PartitionRef(name, self.latest(name) or "", hashlib.sha256(raw).hexdigest())


@dataclass
class Version:
    version: str
    tags: dict[str, str]


@dataclass
class Book:
    """Versions with tags, a champion alias and quarantine records; every write is journaled."""

    model_versions: list[Version] = field(default_factory=list)
    champion_version: str | None = None
    held: dict[str, dict[str, str]] = field(default_factory=dict)
    journal: list[tuple[str, ...]] = field(default_factory=list)

    def decided_months(self) -> set[str]:
        return {v.tags["month"] for v in self.model_versions if v.tags.get("decision") in DECIDED}

    def quarantined(self) -> dict[str, dict[str, str]]:
        return self.held

    def versions(self) -> list[Version]:
        return self.model_versions

    def quarantine(
        self, month: str, path: str, sha256: str, reason: str, *, run_id: str | None = None
    ) -> None:
        self.held[month] = {"path": path, "sha256": sha256, "reason": reason}
        self.journal.append(("quarantine", month))

    def set_challenger(self, version: str) -> None:
        self.journal.append(("challenger", version))

    def promote(self, version: str, *, expected_champion: str | None) -> None:
        assert expected_champion == self.champion_version  # compare-and-set
        self.champion_version = version
        self.journal.append(("champion", version))

    def champion(self) -> Version | None:
        return Version(self.champion_version, {}) if self.champion_version else None

    def set_tags(self, version: str, tags: Mapping[str, str]) -> None:
        self.journal.extend(("tag", version, key) for key in tags)


def _decided(version: str, month: str, decision: str, role: str = "challenger") -> Version:
    return Version(version, {"month": month, "decision": decision, "role": role})


def test_the_next_month_skips_decided_and_quarantined_months_until_corrected() -> None:
    lake = Deliveries({"2025-01": [b"a"], "2025-02": [b"b"], "2025-03": [b"c"]})
    book = Book([_decided("1", "2025-01", "promoted")])
    assert next_month(lake, book) == "2025-02"

    _, ref = lake.fetch("2025-02")
    book.quarantine("2025-02", ref.path, ref.sha256, "labels look shuffled")
    assert next_month(lake, book) == "2025-03"

    lake.months["2025-02"][-1] = b"replaced in place"  # same path, other bytes
    assert next_month(lake, book) == "2025-02"
    lake.months["2025-02"] = [b"b", b"corrected"]  # a corrected delivery beside the old one
    assert next_month(lake, book) == "2025-02"

    book.model_versions += [_decided("2", "2025-02", "rejected"), _decided("3", "2025-03", "x")]
    assert next_month(lake, book) == "2025-03"  # "x" is no decision


def test_a_month_is_decided_by_its_challenger_not_by_its_refit() -> None:
    book = Book([_decided("4", "2025-05", "promoted", role="refit")])
    assert already_decided(book, "2025-05") is None
    book.model_versions.append(_decided("3", "2025-05", "rejected"))
    assert already_decided(book, "2025-05") == {"version": "3", "decision": "rejected"}
    assert already_decided(book, "2025-06") is None


def _evaluation(decision: Decision, *, alarm: bool = False) -> Evaluation:
    challenger = Challenger("2025-04", "7", "run-7", 0.3, "sha", reused=False)
    scores = HoldoutScores(
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
    return Evaluation(
        scores,
        test=None,
        decision=decision,
        alarm=Alarm(alarm, "labels look shuffled" if alarm else "ok", 0.74, 0.75, 0.08, 0.08),
        pr_auc=None,
    )


def _month() -> MonthData:
    return MonthData(PartitionRef("2025-04", "2025-04/applications-1", "abc"), b"")


def test_a_promotion_serves_the_refit_and_the_decision_tag_comes_last() -> None:
    book = Book(champion_version="5")
    outcome = transition(book, Settings(), _evaluation(Decision(True, "better")), _month(), "8")
    assert book.champion_version == "8" and outcome.served_version == "8"
    assert outcome.champion_version == "8" and outcome.challenger_version == "7"
    assert book.journal[:2] == [("challenger", "7"), ("champion", "8")]
    assert ("tag", "8", "decision") in book.journal
    assert book.journal[-1] == ("tag", "7", "decision")  # marks the month finished, last


def test_a_rejection_keeps_the_champion_and_an_alarm_quarantines_the_month() -> None:
    book = Book(champion_version="5")
    rejected = transition(book, Settings(), _evaluation(Decision(False, "worse")), _month())
    assert book.champion_version == "5" and rejected.served_version is None
    assert not book.held

    alarmed = _evaluation(Decision(False, "alarm", verdict="quarantined"), alarm=True)
    book = Book(champion_version="5")
    quarantined = transition(book, Settings(), alarmed, _month())
    assert quarantined.decision.verdict == "quarantined" and book.champion_version == "5"
    assert book.held["2025-04"]["reason"] == "labels look shuffled"
