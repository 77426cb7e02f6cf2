"""What the capture keeps in memory per request, and the Arrow tables a flush makes of it
(the columns of :mod:`fraud_detection.core.scored`)."""

from __future__ import annotations

import itertools
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, Protocol

import numpy as np

from fraud_detection.core.bands import LEVELS, RiskBands
from fraud_detection.core.contract import ID_COLUMN
from fraud_detection.core.features import FEATURES
from fraud_detection.core.scored import (
    ENDPOINT,
    IS_FRAUD,
    MODEL_VERSION,
    PROBABILITY,
    REQUEST_ID,
    REQUESTS,
    RISK_LEVEL,
    SCORED_AT,
    STATUS,
    TALLY_END,
    TALLY_START,
    THRESHOLD,
    request_tally_schema,
    scored_schema,
)

if TYPE_CHECKING:
    import pyarrow as pa


def now_us() -> int:
    return time.time_ns() // 1000


class RequestIds:
    """Ids of captured requests, 32 hex digits like a UUID's: a random half drawn once, then a
    counter. Unique without asking the OS for randomness per request (``uuid4`` measured ~8 µs
    in a serving worker, a quarter of the capture's cost there)."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count()

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"  # next() on a count is atomic


class AnsweringModel(Protocol):
    """What a captured record names of the model that answered it."""

    @property
    def version(self) -> str: ...

    @property
    def threshold(self) -> float: ...


class Answer(Protocol):
    """A request as the model answered it (``Scored``, or the same read back from a journal)."""

    @property
    def matrix(self) -> np.ndarray: ...

    @property
    def ids(self) -> np.ndarray: ...

    @property
    def probabilities(self) -> np.ndarray: ...

    @property
    def model(self) -> AnsweringModel: ...


class Entry(NamedTuple):
    """One captured request: when it was answered, on which endpoint, the answer itself
    (references only: nothing is copied or converted on the request path) and its request id
    (fixed when it is journaled, so a batch made again from the journal is the same batch)."""

    scored_at_us: int
    endpoint: str
    scored: Answer
    request_id: str = ""


def scored_table(entries: Sequence[Entry], bands: RiskBands) -> pa.Table:
    """The captured records of ``entries``, one row per record, in request order."""
    import pyarrow as pa

    counts = np.array([len(e.scored.probabilities) for e in entries], dtype=np.int64)
    # Stacked in column order, so each feature's column is contiguous and goes to Arrow as is
    # (a gather per column would read the whole matrix 54 times).
    stacked = np.empty((int(counts.sum()), len(FEATURES)), dtype=np.float32, order="F")
    np.concatenate([e.scored.matrix for e in entries], out=stacked, casting="same_kind")
    probabilities = np.concatenate([e.scored.probabilities for e in entries])
    thresholds = np.repeat([e.scored.model.threshold for e in entries], counts)

    # Each record's request, as positions to take per-request values from: Arrow's take repeats
    # the strings without a NumPy string array made first (a batch's table in ~2/3 the time).
    request_of_record = pa.array(np.repeat(np.arange(len(entries)), counts))

    def per_request(values: list[str] | list[int], kind: pa.DataType | None = None) -> pa.Array:
        return pa.array(values, kind).take(request_of_record)

    ids = pa.array(np.concatenate([e.scored.ids for e in entries]), from_pandas=True)
    columns = {
        REQUEST_ID: per_request([e.request_id or uuid.uuid4().hex for e in entries]),
        SCORED_AT: per_request([e.scored_at_us for e in entries], pa.int64()).cast(
            pa.timestamp("us", tz="UTC")
        ),
        ID_COLUMN: ids.cast(pa.int64()),  # NaN → null: the request carried no id
        **{name: stacked[:, i] for i, name in enumerate(FEATURES)},
        PROBABILITY: probabilities,
        RISK_LEVEL: pa.array(LEVELS).take(pa.array(bands.positions(probabilities))),
        IS_FRAUD: probabilities >= thresholds,
        MODEL_VERSION: per_request([e.scored.model.version for e in entries]),
        THRESHOLD: thresholds,
        ENDPOINT: per_request([e.endpoint for e in entries]),
    }
    return pa.table(columns).cast(scored_schema())


@dataclass(frozen=True)
class TallyWindow:
    """The requests answered between ``start_us`` and ``end_us``, by (endpoint, status)."""

    start_us: int
    end_us: int
    counts: dict[tuple[str, int], int]

    def table(self) -> pa.Table:
        import pyarrow as pa

        keys = sorted(self.counts)
        rows = len(keys)
        return pa.table(
            {
                TALLY_START: pa.array([self.start_us] * rows, pa.int64()),
                TALLY_END: pa.array([self.end_us] * rows, pa.int64()),
                ENDPOINT: [endpoint for endpoint, _ in keys],
                STATUS: [status for _, status in keys],
                REQUESTS: [self.counts[key] for key in keys],
            }
        ).cast(request_tally_schema())


class RequestTally:
    """How many requests each scoring endpoint answered with each status since the last drain:
    the monitor's rejected-request rate. Counts only, never anything a request contained."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, int]] = Counter()
        self._since = now_us()

    def count(self, endpoint: str, status: int) -> None:
        with self._lock:
            self._counts[endpoint, status] += 1

    def drain(self) -> TallyWindow:
        with self._lock:
            counts, self._counts = self._counts, Counter()
            start, end = self._since, now_us()
            self._since = end
        return TallyWindow(start, end, dict(counts))
