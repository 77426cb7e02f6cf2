"""What the service keeps of every score it gives: the captured record's columns, their types and
where they live in the lake. The service writes these records; the monitor flow, the outcome
join and the audit command read them. One table, so the writer and the readers cannot disagree.

Layout: ``<lake>/scored/day=YYYY-MM-DD/<writer>-<uuid>.parquet``: one file per flushed batch,
named by the process that wrote it and never overwritten, so several workers and replicas append
side by side. The inputs are the model's 54 features exactly as it saw them (float32, after
validation, the derived ratio included).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fraud_detection.core.contract import ID_COLUMN
from fraud_detection.core.features import FEATURES

if TYPE_CHECKING:
    import pyarrow as pa

SCORED_DIR = "scored"
DAY_KEY = "day"  # the Hive-style partition key: scored/day=2025-03-14/

REQUEST_ID = "request_id"  # one per HTTP request; every record of the request shares it
SCORED_AT = "scored_at"  # when the model answered (UTC, microseconds)
PROBABILITY = "probability"  # unrounded, as /score answers
RISK_LEVEL = "risk_level"
IS_FRAUD = "is_fraud"  # probability ≥ threshold
MODEL_VERSION = "model_version"  # the version that actually answered
THRESHOLD = "threshold"  # that version's threshold
ENDPOINT = "endpoint"  # /predict, /score (or /explain)

SCORED_COLUMNS: tuple[str, ...] = (
    REQUEST_ID,
    SCORED_AT,
    ID_COLUMN,  # null when the request did not carry one
    *FEATURES,
    PROBABILITY,
    RISK_LEVEL,
    IS_FRAUD,
    MODEL_VERSION,
    THRESHOLD,
    ENDPOINT,
)


def scored_schema() -> pa.Schema:
    """The Arrow schema of a captured batch (the partition key ``day`` is in the path only)."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field(REQUEST_ID, pa.string(), nullable=False),
            pa.field(SCORED_AT, pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field(ID_COLUMN, pa.int64()),
            *(pa.field(name, pa.float32(), nullable=False) for name in FEATURES),
            pa.field(PROBABILITY, pa.float64(), nullable=False),
            pa.field(RISK_LEVEL, pa.string(), nullable=False),
            pa.field(IS_FRAUD, pa.bool_(), nullable=False),
            pa.field(MODEL_VERSION, pa.string(), nullable=False),
            pa.field(THRESHOLD, pa.float64(), nullable=False),
            pa.field(ENDPOINT, pa.string(), nullable=False),
        ]
    )


# -- request tallies: how many requests each endpoint answered with each status (no contents) ---
# ``<lake>/scored/_requests/day=YYYY-MM-DD/<writer>-<uuid>.parquet``: one row per endpoint and
# status per flush of a writer. The monitor's rejected-request rate is the 4xx rows' share.
REQUESTS_DIR = f"{SCORED_DIR}/_requests"
TALLY_START = "window_start"  # the flush interval the counts cover (UTC)
TALLY_END = "window_end"
STATUS = "status"  # HTTP status answered
REQUESTS = "requests"  # how many requests got it

REQUEST_TALLY_COLUMNS: tuple[str, ...] = (TALLY_START, TALLY_END, ENDPOINT, STATUS, REQUESTS)


def request_tally_schema() -> pa.Schema:
    """The Arrow schema of a request tally (the partition key ``day`` is in the path only)."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field(TALLY_START, pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field(TALLY_END, pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field(ENDPOINT, pa.string(), nullable=False),
            pa.field(STATUS, pa.int16(), nullable=False),
            pa.field(REQUESTS, pa.int64(), nullable=False),
        ]
    )


QUARANTINE_DIR = "quarantine"  # <lake>/quarantine/scored/…: captured files that could not be read


@dataclass(frozen=True)
class SetAside:
    """A captured file that could not be read, moved out of the way: where it was, why."""

    path: str  # under scored/, as it was found
    reason: str


@dataclass(frozen=True)
class Compacted:
    """One closed day compacted: how many files became how many, over how many records."""

    day: str
    files_before: int
    files_after: int
    rows: int
    set_aside: int = 0  # unreadable files moved to quarantine instead
