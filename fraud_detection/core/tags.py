"""The registry's vocabulary: verdicts, roles, and a version's tags as one typed value.

MLflow stores a model version's tags as strings. Every tag the project writes or reads is named,
formatted and parsed here, and nowhere else, so the steps speak in :class:`VersionTags` and
enums, never in bare strings. The string forms are those earlier versions were written with, so
old registries read the same.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Verdict(StrEnum):
    """What a month's run decided about its challenger."""

    PROMOTED = "promoted"
    REJECTED = "rejected"
    QUARANTINED = "quarantined"  # the month's data looked wrong; the month is not finished
    HELD = "held"  # the rule would promote, but a person must weigh what changed; champion kept


# A month with any of these is finished for the schedule (a held month waits for a person, not
# for the next run).
DECIDED = frozenset({Verdict.PROMOTED, Verdict.REJECTED, Verdict.HELD})


class Role(StrEnum):
    """Why a version was registered."""

    BOOTSTRAP = "bootstrap"  # the first champion, trained on the base history
    CHALLENGER = "challenger"  # the month's judged model
    REFIT = "refit"  # the promoted recipe refitted on the whole month (what is served)
    EXTERNAL = "external"  # a model file trained elsewhere (register-model)


BASE_MONTH = "base"  # the month tag of models trained on the base history
EXTERNAL_MONTH = "external"  # the month tag of registered model files

# Holdout metrics kept on a version (for `status`, `/model` and the data alarm's reference).
HOLDOUT_METRICS = (
    *("pr_auc", "roc_auc", "f1", "brier", "fraud_rate"),
    # with a capacity: at the version's capacity cut (steps/capacity_gate.py)
    *("precision_at_capacity", "recall_at_capacity", "capacity_share", "flagged_at_capacity"),
)


def utc_now() -> str:
    """A timestamp as the registry's tags carry it (UTC, seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _float(value: str | None) -> float | None:
    return None if value in (None, "") else float(value)


def _int(value: str | None) -> int | None:
    return None if value in (None, "") else int(value)


def _metric(name: str, value: float) -> str:
    return f"{value:.6f}" if name == "fraud_rate" else f"{value:.4f}"


@dataclass(frozen=True)
class VersionTags:
    """A model version's tags, typed. Unset fields are absent from the registry.

    Writers build the fields they set (``to_tags`` writes only those); readers parse a version's
    whole tag set with ``from_tags``. Tags this class does not know are kept in ``other``, and
    ``to_tags(from_tags(t)) == t`` for every tag set the project writes (empty strings stay).
    """

    month: str | None = None
    role: Role | None = None
    data_sha256: str | None = None
    threshold: float | None = None
    trained_positive_rate: float | None = None  # the class prior the model was fitted at
    training_rows: int | None = None
    run_id: str | None = None
    refit_of: str | None = None  # a refit: the challenger it refits
    served_as: str | None = None  # a promoted challenger: the refit that was served
    compared_with: str | None = None  # the champion the challenger was judged against
    decision: Verdict | None = None  # written last: the month is finished
    decision_reason: str | None = None
    holdout: Mapping[str, float] = field(default_factory=dict)  # HOLDOUT_METRICS on the holdout
    champion_holdout_roc_auc: float | None = None  # the champion's, on the same holdout
    promoted_from: str | None = None
    promoted_at: str | None = None
    rolled_back_at: str | None = None
    source_file: str | None = None  # a registered model file's name
    monitor_run_id: str | None = None  # the MLflow run of the latest monitor report on it
    monitored_at: str | None = None
    other: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_tags(cls, tags: Mapping[str, str]) -> VersionTags:
        known = {f.name for f in dataclasses.fields(cls)} - {"holdout", "other"}
        holdout = {
            name: float(tags[f"holdout_{name}"])
            for name in HOLDOUT_METRICS
            if tags.get(f"holdout_{name}")
        }
        used = known | {f"holdout_{name}" for name in holdout}
        return cls(
            month=tags.get("month"),
            role=Role(tags["role"]) if tags.get("role") in set(Role) else None,
            data_sha256=tags.get("data_sha256"),
            threshold=_float(tags.get("threshold")),
            trained_positive_rate=_float(tags.get("trained_positive_rate")),
            training_rows=_int(tags.get("training_rows")),
            run_id=tags.get("run_id"),
            refit_of=tags.get("refit_of"),
            served_as=tags.get("served_as"),
            compared_with=tags.get("compared_with"),
            decision=Verdict(tags["decision"]) if tags.get("decision") in set(Verdict) else None,
            decision_reason=tags.get("decision_reason"),
            holdout=holdout,
            champion_holdout_roc_auc=_float(tags.get("champion_holdout_roc_auc")),
            promoted_from=tags.get("promoted_from"),
            promoted_at=tags.get("promoted_at"),
            rolled_back_at=tags.get("rolled_back_at"),
            source_file=tags.get("source_file"),
            monitor_run_id=tags.get("monitor_run_id"),
            monitored_at=tags.get("monitored_at"),
            other={k: v for k, v in tags.items() if k not in used},
        )

    def to_tags(self) -> dict[str, str]:
        """The fields that are set, as MLflow tag strings (``decision`` last: see ``decided``)."""
        text: dict[str, str | None] = {
            "month": self.month,
            "role": self.role,
            "data_sha256": self.data_sha256,
            "threshold": None if self.threshold is None else repr(self.threshold),
            "trained_positive_rate": (
                None if self.trained_positive_rate is None else f"{self.trained_positive_rate:.6f}"
            ),
            "training_rows": None if self.training_rows is None else str(self.training_rows),
            "run_id": self.run_id,
            "refit_of": self.refit_of,
            "served_as": self.served_as,
            "compared_with": self.compared_with,
            "decision_reason": None
            if self.decision_reason is None
            else self.decision_reason[:5000],
            **{f"holdout_{k}": _metric(k, v) for k, v in self.holdout.items()},
            "champion_holdout_roc_auc": (
                None
                if self.champion_holdout_roc_auc is None
                else f"{self.champion_holdout_roc_auc:.4f}"
            ),
            "promoted_from": self.promoted_from,
            "promoted_at": self.promoted_at,
            "rolled_back_at": self.rolled_back_at,
            "source_file": self.source_file,
            "monitor_run_id": self.monitor_run_id,
            "monitored_at": self.monitored_at,
            **self.other,
            "decision": self.decision,
        }
        return {k: str(v) for k, v in text.items() if v is not None}

    @property
    def decided(self) -> bool:
        """The month this version was judged for is finished (promoted or rejected)."""
        return self.decision in DECIDED

    @property
    def judged(self) -> bool:
        """This version carries its month's decision (not a refit, which follows its challenger)."""
        return self.decided and self.role is not Role.REFIT

    def threshold_or(self, default: float) -> float:
        return default if self.threshold is None else self.threshold


# -- quarantine records: tags of an MLflow run that marks a month's delivery unusable ----------
@dataclass(frozen=True)
class QuarantineRecord:
    """A month's delivery set aside: which file, its bytes' hash, why, when, and the run."""

    month: str
    path: str
    sha256: str
    reason: str
    at: str
    run_id: str = ""

    def to_tags(self) -> dict[str, str]:
        return {
            "quarantine": "true",
            "month": self.month,
            "quarantined_path": self.path,
            "quarantined_sha256": self.sha256,
            "quarantine_reason": self.reason[:5000],
            "quarantined_at": self.at,
        }

    @classmethod
    def from_tags(cls, run_id: str, tags: Mapping[str, str]) -> QuarantineRecord:
        return cls(
            month=tags["month"],
            path=tags.get("quarantined_path", ""),
            sha256=tags.get("quarantined_sha256", ""),
            reason=tags.get("quarantine_reason", ""),
            at=tags.get("quarantined_at", ""),
            run_id=run_id,
        )

    def as_dict(self) -> dict[str, str]:
        """The record as ``status --json`` shows it."""
        return {
            "path": self.path,
            "sha256": self.sha256,
            "reason": self.reason,
            "at": self.at,
            "run_id": self.run_id,
        }


QUARANTINE_FILTER = "tags.quarantine = 'true'"  # MLflow's search for quarantine runs


def latest_quarantines(
    runs: Iterable[tuple[str, Mapping[str, str]]],
) -> dict[str, QuarantineRecord]:
    """Month → its latest quarantine record, from (run id, tags) of the quarantine runs."""
    records = (QuarantineRecord.from_tags(run_id, tags) for run_id, tags in runs)
    return {record.month: record for record in sorted(records, key=lambda r: r.at)}
