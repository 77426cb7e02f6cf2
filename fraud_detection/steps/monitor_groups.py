"""Who gets flagged in service, group by group, without labels: each group's share flagged on
the window's captured traffic (the decision as served, at the serving version's threshold)
against the same figure on the champion's reference (its training rows scored by it at its
threshold), and the groups whose share moved past the limit.

The captured records hold the contract's inputs, so every record's group is known; the shares
come from fairlearn's ``MetricFrame``. A group with fewer records in the window than the privacy
floor is counted only: no share, no judgement (a share of a handful of records is about those
applicants)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, count, selection_rate

from fraud_detection.core.group_spec import GroupAttribute
from fraud_detection.steps.groups import metric_key


class GroupWatchSettings(Protocol):
    """Which groups the monitor watches, from how many records, and how far a group's share
    flagged may move from the reference's."""

    @property
    def group_attributes(self) -> list[str]: ...
    @property
    def monitor_min_records(self) -> int: ...
    @property
    def monitor_max_group_shift(self) -> float: ...


@dataclass(frozen=True)
class GroupShare:
    """One group's share flagged in the window and in the champion's reference."""

    attribute: str
    level: str
    window_rows: int
    reference_rows: int
    window: float | None  # None: below the privacy floor (counts only)
    reference: float | None  # None: no reference, or no reference row in the group
    limit: float
    everyone: float = 0.0  # the whole window's share minus the whole reference's

    @property
    def beyond_everyone(self) -> float | None:
        """The group's move beyond everyone's: a threshold or a season that flags more of
        everyone is not a move of one group."""
        d = self.difference
        return None if d is None else d - self.everyone

    @property
    def difference(self) -> float | None:
        if self.window is None or self.reference is None:
            return None
        return self.window - self.reference

    @property
    def passed(self) -> bool:
        """The group is flagged more than everyone's move by more than the limit. Only a rise:
        when one group of an attribute rises, the others fall behind everyone's move by the
        same token, and naming them would point away from the group singled out."""
        beyond = self.beyond_everyone
        return beyond is not None and beyond > self.limit

    @property
    def name(self) -> str:
        return f"{self.attribute}={self.level}"

    def in_words(self) -> str:
        assert self.window is not None and self.reference is not None
        return (
            f"share flagged of {self.name} {self.window:.1%} against {self.reference:.1%} "
            f"in the reference, {(self.beyond_everyone or 0) * 100:+.1f} points beyond the move of all "
            f"applicants (limit +{self.limit:.1%})"
        )


def _by_group(levels: np.ndarray, flagged: np.ndarray) -> tuple[pd.DataFrame, float | None]:
    """Rows and share flagged per level, and overall (an empty frame when there are no rows)."""
    if not len(levels):
        return pd.DataFrame(columns=["count", "selection_rate"]), None
    frame = MetricFrame(
        metrics={"count": count, "selection_rate": selection_rate},
        y_true=flagged.astype(int),  # unused by both metrics; no label is needed
        y_pred=flagged.astype(int),
        sensitive_features=pd.Series(levels, name="level"),
    )
    return frame.by_group, float(frame.overall["selection_rate"])


@dataclass(frozen=True)
class FlaggedRows:
    """Records with the contract's inputs, and whether each was flagged."""

    frame: pd.DataFrame
    flagged: np.ndarray


def group_shares(
    window: FlaggedRows,
    reference: FlaggedRows | None,
    attributes: Sequence[GroupAttribute],
    *,
    floor: int,
    limit: float,
) -> list[GroupShare]:
    """Every level of every attribute seen in the window or the reference."""
    shares = []
    for attribute in attributes:
        live, live_all = _by_group(attribute.levels(window.frame), window.flagged)
        ref, ref_all = (
            _by_group(attribute.levels(reference.frame), reference.flagged)
            if reference is not None
            else _by_group(np.array([]), np.array([]))
        )
        for level in sorted({*map(str, live.index), *map(str, ref.index)}):
            rows = int(live.loc[level, "count"]) if level in live.index else 0
            ref_rows = int(ref.loc[level, "count"]) if level in ref.index else 0
            shares.append(
                GroupShare(
                    attribute=attribute.name,
                    level=level,
                    window_rows=rows,
                    reference_rows=ref_rows,
                    window=float(live.loc[level, "selection_rate"]) if rows >= floor else None,
                    reference=float(ref.loc[level, "selection_rate"]) if ref_rows else None,
                    limit=limit,
                    everyone=0.0 if live_all is None or ref_all is None else live_all - ref_all,
                )
            )
    return shares


def groups_passed(shares: Sequence[GroupShare]) -> list[str]:
    """The limits passed, in words, naming each group."""
    return [s.in_words() for s in shares if s.passed]


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _difference(share: GroupShare) -> str:
    d, beyond = share.difference, share.beyond_everyone
    if d is None or beyond is None:
        return "counts only" if share.window is None else "–"
    return f"{d * 100:+.1f} points ({beyond * 100:+.1f} beyond all)" + (
        " **past the limit**" if share.passed else ""
    )


def group_rows(shares: Sequence[GroupShare]) -> list[dict[str, str]]:
    """The table of the report and the Prefect artifact (aggregates only)."""
    return [
        {
            "attribute": s.attribute,
            "group": s.level,
            "records in the window": f"{s.window_rows:,}",
            "share flagged in the window": _share(s.window),
            "share flagged in the reference": _share(s.reference),
            "difference": _difference(s).replace("**", ""),
        }
        for s in shares
    ]


def group_markdown(shares: Sequence[GroupShare], floor: int) -> list[str]:
    """The report's section: who is flagged, group by group, against the reference."""
    if not shares:
        return []
    lines = [
        "",
        "Who is flagged, group by group (no label needed; groups with fewer than "
        f"{floor:,} records: counts only):",
        "",
        "| attribute | group | records | window | reference | difference |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {s.attribute} | {s.level} | {s.window_rows:,} | {_share(s.window)} | "
        f"{_share(s.reference)} | {_difference(s)} |"
        for s in shares
    ]
    return lines


def group_metrics(shares: Sequence[GroupShare]) -> dict[str, float]:
    """``group.<attribute>.<level>.selection_rate`` (the window), ``.reference_selection_rate``
    and ``.rows`` for MLflow."""
    found: dict[str, float] = {}
    for s in shares:
        found[metric_key(s.attribute, s.level, "rows")] = float(s.window_rows)
        if s.window is not None:
            found[metric_key(s.attribute, s.level, "selection_rate")] = s.window
        if s.reference is not None and not math.isnan(s.reference):
            found[metric_key(s.attribute, s.level, "reference_selection_rate")] = s.reference
    return found
