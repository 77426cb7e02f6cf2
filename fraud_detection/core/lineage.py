"""Which partitions (and which bytes) a model was trained on, and what its training run logs."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PartitionRef:
    """Which file a month (or the base) is, and the sha256 of its bytes."""

    name: str  # "base" or "YYYY-MM"
    path: str
    sha256: str


def lineage_hash(refs: list[PartitionRef]) -> str:
    """One hash for the exact set of partitions (and their bytes) a model was trained on."""
    text = "\n".join(f"{r.name}:{r.sha256}" for r in sorted(refs, key=lambda r: r.name))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class RunRecord:
    """What one training run logs beside its model: name, params, metrics, tags, lineage,
    figures (path → matplotlib figure) and texts (path → body)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    lineage: list[PartitionRef] = field(default_factory=list)
    figures: Mapping[str, Any] = field(default_factory=dict)
    texts: Mapping[str, str] = field(default_factory=dict)
