"""A record of ``/predict`` and ``/score`` as a JSON schema, derived from the contract table:
every field in both spellings with its bounds and meaning, "exactly one spelling" of each field
and "at most one level" of each one-hot group — a record the schema admits is one the service
accepts."""

from __future__ import annotations

from itertools import combinations
from typing import Any

from fraud_detection.core.contract import (
    DERIVED_COLUMN,
    DERIVED_MEANING,
    GROUPS,
    ID_COLUMN,
    ID_MEANING,
    INPUTS,
    MAX_ID,
    TARGET_COLUMN,
    TARGET_MEANING,
    Column,
)


def column_schema(column: Column) -> dict[str, Any]:
    """One input field: its JSON type and inclusive domain bounds from the contract, or (for a
    column with a documented placeholder) the bounds or exactly the placeholder."""
    kind = "integer" if column.integer else "number"
    minimum: float = column.minimum
    maximum: float = column.maximum
    if column.integer:
        minimum, maximum = int(minimum), int(maximum)
    bounds = {"minimum": minimum, "maximum": maximum}
    if column.placeholder is None:
        return {"type": kind, **bounds}
    # OpenAPI 3.0 has no "const"; a one-value enum says the same.
    return {"type": kind, "anyOf": [bounds, {"enum": [column.placeholder.value]}]}


def _describe(column: Column, spelling: str) -> str:
    other = column.alias if spelling == column.name else column.name
    parts = [column.meaning, f"Allowed: {column.rule.removeprefix('flag ')}."]
    if column.group:
        parts.append(f"One-hot group {column.group}: at most one level set to 1.")
    if column.alias:
        parts.append(f"Also spelled '{other}'; give exactly one of the two spellings.")
    return " ".join(parts)


def _both_set(first: str, second: str) -> dict[str, Any]:
    return {
        "required": [first, second],
        "properties": {first: {"enum": [1]}, second: {"enum": [1]}},
    }


def record_schema() -> dict[str, Any]:
    """A record of ``/predict`` and ``/score``: exactly what the contract accepts."""
    properties: dict[str, Any] = {
        ID_COLUMN: {"type": "integer", "minimum": 0, "maximum": MAX_ID, "description": ID_MEANING}
    }
    for column in INPUTS:
        for spelling in column.spellings:
            properties[spelling] = {
                **column_schema(column),
                "description": _describe(column, spelling),
            }
    properties[TARGET_COLUMN] = {"description": TARGET_MEANING}
    properties[DERIVED_COLUMN] = {"description": DERIVED_MEANING}
    rules: list[dict[str, Any]] = [
        {"oneOf": [{"required": [column.name]}, {"required": [column.alias]}]}
        for column in INPUTS
        if column.alias
    ]
    for columns in GROUPS.values():
        spellings = [s for c in columns for s in c.spellings]
        rules.append({"not": {"anyOf": [_both_set(a, b) for a, b in combinations(spellings, 2)]}})
    return {
        "type": "object",
        "description": "One application: the 53 input fields of the feature contract.",
        "properties": properties,
        "required": [c.name for c in INPUTS if c.alias is None],
        "additionalProperties": False,
        "allOf": rules,
    }
