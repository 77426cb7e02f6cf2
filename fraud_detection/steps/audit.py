"""What ``fraud-detection scored SK_ID_CURR`` answers: every time the service scored an
application — when, on which endpoint, by which version, and what it said.

Read with pyarrow from the lake's day partitions: only the days from ``since`` on, only the
columns shown, the application's rows selected by a filter pushed down into the Parquet scan
(row groups whose id range excludes it are skipped), never a whole month in pandas.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from fraud_detection.core.contract import ID_COLUMN
from fraud_detection.core.scored import (
    ENDPOINT,
    IS_FRAUD,
    MODEL_VERSION,
    PROBABILITY,
    REQUEST_ID,
    RISK_LEVEL,
    SCORED_AT,
    THRESHOLD,
)
from fraud_detection.steps.ports import ScoredReader

if TYPE_CHECKING:
    pass

SHOWN = (
    SCORED_AT,
    ENDPOINT,
    MODEL_VERSION,
    PROBABILITY,
    RISK_LEVEL,
    IS_FRAUD,
    THRESHOLD,
    REQUEST_ID,
)


@dataclass(frozen=True)
class Scoring:
    """One time an application was scored, as the service answered it."""

    scored_at: datetime
    endpoint: str
    model_version: str
    probability: float  # unrounded
    risk_level: str
    is_fraud: bool  # the decision: probability ≥ the version's threshold
    threshold: float
    request_id: str

    @property
    def decision(self) -> str:
        return "fraud" if self.is_fraud else "not fraud"

    def as_dict(self) -> dict[str, Any]:
        return {
            "scored_at": self.scored_at.isoformat(),
            "endpoint": self.endpoint,
            "model_version": self.model_version,
            "probability": self.probability,
            "risk_level": self.risk_level,
            "is_fraud": self.is_fraud,
            "decision": self.decision,
            "threshold": self.threshold,
            "request_id": self.request_id,
        }


def scorings(scored: ScoredReader, application: int, since: date | None = None) -> list[Scoring]:
    """Every captured score of ``application`` from the day ``since`` on, oldest first."""
    import pyarrow.compute as pc

    table = scored.read(since=since, columns=SHOWN, where=pc.field(ID_COLUMN) == application)
    rows = table.sort_by([(SCORED_AT, "ascending"), (REQUEST_ID, "ascending")]).to_pylist()
    return [Scoring(**row) for row in rows]
