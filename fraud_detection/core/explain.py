"""Why a model scored a record as it did: exact per-feature contributions (XGBoost's TreeSHAP).

For every record the 54 contributions plus the base value add up to the model's margin, the
log-odds whose sigmoid is the probability. The base value is the model's average margin over
the data it was trained on (as its trees' covers record it), the same for every record; a
contribution says how far that feature's value moved this record's log-odds from there.
A feature the model never splits on contributes exactly 0, so it is never given as a reason.

Reasons are the features that raised the log-odds most and those that lowered it most, each
with its readable label from the contract table and the change in probability it stands for on
its own against the base value. Global importance (the monthly report) is the mean absolute
contribution of each feature over a set of records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xgboost as xgb

from fraud_detection.core.contract import DERIVED_LABEL, INPUTS
from fraud_detection.core.features import FEATURES
from fraud_detection.core.model_inputs import full_width, select_features, used_features

DEFAULT_REASONS = 4  # Regulation B: the principal reasons, "usually no more than four"
# How contributions are computed: "exact" is TreeSHAP (the default, and what a reason given to an
# applicant should rest on); "approximate" is XGBoost's per-path attribution (Saabas), which also
# adds up to the margin but may rank features differently; it costs about as much as a
# prediction (exact TreeSHAP ~1 ms a row on this model), for triage of large batches.
METHODS = ("exact", "approximate")
MAX_REASONS = 10
LABELS: tuple[str, ...] = (*(c.label for c in INPUTS), DERIVED_LABEL)
_WHOLE = [c.integer for c in INPUTS] + [False]  # features whose values are whole numbers


@dataclass(frozen=True)
class Contributions:
    """Each record's contribution of each feature to its margin (log-odds, contract order) and
    the model's base value: ``values.sum(axis=1) + base`` is the margin, to float32 tolerance."""

    values: np.ndarray  # (records, 54) float64
    base: float

    @property
    def margin(self) -> np.ndarray:
        margin: np.ndarray = self.values.sum(axis=1) + self.base
        return margin


def contributions(booster: xgb.Booster, matrix: np.ndarray, method: str = "exact") -> Contributions:
    """Contributions of a validated (n, 54) float32 matrix, in one XGBoost call: TreeSHAP, or
    with ``method="approximate"`` the per-path attribution (both add up to the margin).

    Contributions need a DMatrix (``inplace_predict`` does not compute them); it is built once
    from the model's columns of the matrix, on one thread (a request-sized matrix is copied
    faster than threads start). Features are matched by position within those columns; an input
    the model leaves out contributes exactly 0, so it is never given as a reason.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    used = used_features(booster)
    dmatrix = xgb.DMatrix(select_features(matrix, used), nthread=1)
    raw = booster.predict(
        dmatrix,
        pred_contribs=True,
        approx_contribs=method == "approximate",
        validate_features=False,
    )
    values = np.asarray(raw, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != len(used) + 1:
        raise ValueError(f"expected one output with {len(used)} features, got {raw.shape}")
    base = float(values[0, -1]) if len(values) else 0.0
    return Contributions(full_width(values[:, :-1], used), base)


def sigmoid(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-x))


def _shown(value: float, whole: bool) -> float | int:
    """A float32 input as the client would write it (7 significant digits, whole counts as int)."""
    return int(value) if whole else float(f"{value:.7g}")


def _side(
    parts: Contributions, matrix: np.ndarray, order: np.ndarray, sign: float
) -> list[list[dict[str, Any]]]:
    """Per record, the reasons in ``order`` whose contribution has the given sign."""
    chosen = np.take_along_axis(parts.values, order, axis=1)
    shown = np.take_along_axis(matrix, order, axis=1).astype(np.float64)
    change = sigmoid(parts.base + chosen) - sigmoid(parts.base)
    keep = (chosen * sign > 0).tolist()
    rows = zip(order.tolist(), chosen.tolist(), shown.tolist(), change.tolist(), keep, strict=True)
    return [
        [
            {
                "feature": FEATURES[column],
                "label": LABELS[column],
                "value": _shown(value, _WHOLE[column]),
                "contribution": contribution,
                "probability_change": moved,
            }
            for column, contribution, value, moved, kept in zip(*row, strict=True)
            if kept
        ]
        for row in rows
    ]


def reasons(parts: Contributions, matrix: np.ndarray, top: int) -> list[dict[str, Any]]:
    """For each record: its margin, the base value (log-odds and probability), the ``top``
    features that raised its log-odds most (largest first) and the ``top`` that lowered it most.

    Only features that moved the record are named (a contribution of exactly 0 never is); ties
    are broken by contract order, so the same record always gives the same reasons.
    """
    raising = _side(parts, matrix, np.argsort(-parts.values, axis=1, kind="stable")[:, :top], 1)
    lowering = _side(parts, matrix, np.argsort(parts.values, axis=1, kind="stable")[:, :top], -1)
    base_p = float(sigmoid(parts.base))
    return [
        {
            "margin": margin,
            "base_value": parts.base,
            "base_probability": base_p,
            "raising": up,
            "lowering": down,
        }
        for margin, up, down in zip(parts.margin.tolist(), raising, lowering, strict=True)
    ]


IMPORTANCE_ROWS = 2_000  # enough for a stable mean; exact TreeSHAP costs ~1 ms a row


def global_importance(booster: xgb.Booster, matrix: np.ndarray) -> np.ndarray:
    """Mean absolute contribution of each feature over the first ``IMPORTANCE_ROWS`` rows of
    ``matrix`` (log-odds)."""
    parts = contributions(booster, matrix[:IMPORTANCE_ROWS])
    importance: np.ndarray = np.abs(parts.values).mean(axis=0)
    return importance


@dataclass(frozen=True)
class FeatureShift:
    """One feature's global importance under two models on the same rows (log-odds)."""

    feature: str
    label: str
    champion: float
    challenger: float

    @property
    def change(self) -> float:
        return self.challenger - self.champion

    @property
    def degree(self) -> str:
        """How much more or less the challenger relies on the feature, in words."""
        low, high = sorted((self.champion, self.challenger))
        ratio = high / low if low > 0 else float("inf")
        if ratio >= 2:
            strength = "much "
        elif ratio >= 1.25:
            strength = ""
        else:
            return "about as much"
        return strength + ("more" if self.change > 0 else "less")


@dataclass(frozen=True)
class ImportanceShift:
    """The challenger's and the champion's global importance on the same holdout rows."""

    challenger: tuple[float, ...]  # by feature, contract order
    champion: tuple[float, ...] | None  # None: no champion to compare with
    rows: int

    def ranked(self) -> list[FeatureShift]:
        """Every feature, the largest change first (the challenger's importance without a
        champion)."""
        champion = self.champion or (0.0,) * len(FEATURES)
        shifts = [
            FeatureShift(name, label, old, new)
            for name, label, old, new in zip(
                FEATURES, LABELS, champion, self.challenger, strict=True
            )
        ]
        return sorted(shifts, key=lambda s: -abs(s.change))

    def notable(self, share: float = 0.02, count: int = 3) -> list[FeatureShift]:
        """The largest changes that matter: at least ``share`` of the challenger's total
        importance and at least 25 % of the feature's own importance."""
        floor = share * sum(self.challenger)
        return [
            s
            for s in self.ranked()[:count]
            if abs(s.change) >= floor and s.degree != "about as much"
        ]


def importance_shift(
    challenger: xgb.Booster, champion: xgb.Booster | None, matrix: np.ndarray
) -> ImportanceShift:
    """Both models' global importance on the same rows (the champion's only if there is one)."""
    old = None if champion is None else tuple(global_importance(champion, matrix).tolist())
    new = tuple(global_importance(challenger, matrix).tolist())
    return ImportanceShift(new, old, min(len(matrix), IMPORTANCE_ROWS))
