"""Which files of a day of captured scores hold its records, once compaction has run.

A compaction writes its files (``compacted-<token>-<n>.parquet``), checks them, then commits by
creating ``compacted-<token>.json`` (create-if-absent: atomic locally and on S3), which names
the files it replaces; only then are those deleted. So at every instant a reader sees each
record once: before the commit the new files are ignored (no manifest names them), after it the
replaced ones are, whether or not they are gone yet. Files that arrive meanwhile are in neither
list and stay read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from fraud_detection.adapters.lake import Lake

COMPACTED = "compacted-"
MANIFEST_SUFFIX = ".json"


def name_of(path: str) -> str:
    return path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class DayFiles:
    """A day directory's files by role (full paths)."""

    live: list[str] = field(default_factory=list)  # hold the day's records: read these
    replaced: list[str] = field(default_factory=list)  # in a committed compaction: delete
    uncommitted: list[str] = field(default_factory=list)  # a compaction killed before its commit
    manifests: list[str] = field(default_factory=list)

    @property
    def compact(self) -> bool:
        """Every live file is a compaction's output: nothing left to rewrite."""
        return all(name_of(p).startswith(COMPACTED) for p in self.live)


def list_day(lake: Lake, day_dir: str) -> DayFiles:
    """The day's files: one listing, and a read of each compaction manifest (a few at most)."""
    try:
        paths = sorted(lake.fs.ls(day_dir, detail=False))
    except FileNotFoundError:
        return DayFiles()
    manifests = [p for p in paths if _is_manifest(p)]
    replaced: set[str] = set()
    committed: set[str] = set()
    for manifest in manifests:
        found = json.loads(lake.fs.cat_file(manifest))
        replaced.update(found["replaces"])
        committed.update(found["files"])
    files = DayFiles(manifests=[m for m in manifests if name_of(m) not in replaced])
    for path in (p for p in paths if p.endswith(".parquet")):
        name = name_of(path)
        if name in replaced:
            files.replaced.append(path)
        elif name.startswith(COMPACTED) and name not in committed:
            files.uncommitted.append(path)
        else:
            files.live.append(path)
    files.replaced.extend(m for m in manifests if name_of(m) in replaced)
    return files


def _is_manifest(path: str) -> bool:
    name = name_of(path)
    return name.startswith(COMPACTED) and name.endswith(MANIFEST_SUFFIX)
