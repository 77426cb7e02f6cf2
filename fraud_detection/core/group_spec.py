"""Which attributes define groups of applicants, and each row's level of each attribute.

An attribute is read from the contract's columns whether or not the model uses it as an input:
sex (``CODE_GENDER``), age band (``DAYS_BIRTH``) and pensioner (``DAYS_EMPLOYED`` equal to the
public data's "not employed" placeholder) are built in; a user names any other contract column,
with band edges for a number ("COLUMN:edge,edge") or without for its values as levels."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fraud_detection.core.contract import NOT_EMPLOYED
from fraud_detection.core.features import INPUT_FEATURES

DAYS_PER_YEAR = 365.25
AGE_EDGES = (30.0, 60.0)  # under 30, 30–59, 60 and over


@dataclass(frozen=True)
class GroupAttribute:
    """One attribute: its name, the column it reads, and band edges (none: values are levels)."""

    name: str
    column: str
    edges: tuple[float, ...] = ()

    def levels(self, frame: pd.DataFrame) -> np.ndarray:
        """Each row's level as a readable label."""
        values = frame[self.column].to_numpy()
        if self.name == "sex":
            return np.where(values == 1, "male", "female")
        if self.name == "age_band":
            return _banded(-values / DAYS_PER_YEAR, self.edges, unit=" years")
        if self.name == "pensioner":
            return np.where(values == NOT_EMPLOYED.value, "pensioner", "not pensioner")
        if self.edges:
            return _banded(values.astype(float), self.edges, unit="")
        return np.asarray([str(v) for v in values])


BUILT_IN: dict[str, GroupAttribute] = {
    "sex": GroupAttribute("sex", "CODE_GENDER"),
    "age_band": GroupAttribute("age_band", "DAYS_BIRTH", AGE_EDGES),
    "pensioner": GroupAttribute("pensioner", "DAYS_EMPLOYED"),
}


def _banded(values: np.ndarray, edges: tuple[float, ...], *, unit: str) -> np.ndarray:
    """Band labels: "under 30 years", "30–60 years", "60 years and over"."""
    labels = [f"under {edges[0]:g}{unit}"]
    labels += [f"{low:g}–{high:g}{unit}" for low, high in itertools.pairwise(edges)]
    labels.append(f"{edges[-1]:g}{unit} and over")
    return np.asarray(labels, dtype=object)[np.searchsorted(edges, values, side="right")]


def parse_attribute(spec: str) -> GroupAttribute:
    """A setting's entry → the attribute: a built-in name, "COLUMN" or "COLUMN:edge,edge"."""
    text = spec.strip()
    if text in BUILT_IN:
        return BUILT_IN[text]
    column, _, edges = text.partition(":")
    if column not in INPUT_FEATURES:
        raise ValueError(
            f"group attribute {text!r}: not one of {', '.join(BUILT_IN)} nor a contract column"
        )
    try:
        bands = tuple(sorted(float(e) for e in edges.split(",") if e.strip()))
    except ValueError:
        raise ValueError(f"group attribute {text!r}: band edges must be numbers") from None
    return GroupAttribute(column, column, bands)


def parse_attributes(specs: Sequence[str]) -> tuple[GroupAttribute, ...]:
    return tuple(parse_attribute(spec) for spec in specs)
