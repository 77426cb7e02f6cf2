"""What a run's result looks like on a terminal: a sentence, never a raw Python value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def retrain_line(result: Mapping[str, Any]) -> str:
    """One sentence for the result of a monthly-retrain run."""
    status = str(result.get("status", ""))
    month = result.get("month", "")
    if status == "nothing to do":
        return "Nothing to do: every month in the lake is decided or quarantined."
    if status == "already decided":
        return (
            f"{month} was already decided ({result.get('decision')}, version "
            f"{result.get('version')}): nothing to do."
        )
    challenger, champion = result.get("challenger_version"), result.get("champion_version")
    served = result.get("served_version")
    if status == "promoted":
        refit = f" (the challenger refitted on the whole month, v{served})" if served else ""
        line = f"{month}: promoted — challenger v{challenger}; champion is now v{champion}{refit}."
    elif status == "held":
        line = (
            f"{month}: held for review — challenger v{challenger} waits for a person; "
            f"champion stays v{champion}."
        )
    else:
        line = f"{month}: {status} — challenger v{challenger}; champion stays v{champion}."
    matched = result.get("live_matched")
    if matched:
        line += f" The month's labels matched {matched:,} applications the service had scored."
    return line


def bootstrap_line(result: Mapping[str, Any]) -> str:
    """One sentence for the result of the bootstrap run."""
    version = result.get("version")
    if result.get("created"):
        return f"First champion: version {version}."
    return f"A champion already exists (version {version}): nothing to do."
