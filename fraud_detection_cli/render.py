"""What a run's result looks like on a terminal: a sentence, never a raw Python value."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table

    from fraud_detection.adapters.registry_sqlite import RegistrySnapshot


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


AT_CAPACITY_TAGS = ("capacity_share", "precision_at_capacity", "recall_at_capacity")


def champion_at_capacity(registry: RegistrySnapshot) -> dict[str, float] | None:
    """The champion's holdout figures at its capacity cut, when it was cut for a capacity."""
    tags = dict(registry.versions).get(registry.champion or "", {})
    found = {name: tags.get(f"holdout_{name}") for name in AT_CAPACITY_TAGS}
    if any(value in (None, "") for value in found.values()):
        return None
    return {name: float(value) for name, value in found.items() if value is not None}


def capacity_line(registry: RegistrySnapshot) -> str | None:
    """The champion's precision and recall at capacity in a sentence (None: not cut for one)."""
    figures = champion_at_capacity(registry)
    if figures is None:
        return None
    return (
        f"Champion v{registry.champion} at the capacity of {figures['capacity_share']:.1%}: "
        f"precision {figures['precision_at_capacity']:.1%}, recall "
        f"{figures['recall_at_capacity']:.1%} on its month's holdout."
    )


def status_tables(registry: RegistrySnapshot, champion: str, challenger: str) -> Iterator[Table]:
    """The versions with their aliases, then the quarantined months if any."""
    from rich.table import Table

    table = Table("version", "month", "role", "decision", "holdout PR-AUC", "threshold", "aliases")
    for version, tags in registry.versions:
        holders = ((champion, registry.champion), (challenger, registry.challenger))
        aliases = [alias for alias, holder in holders if holder == version]
        table.add_row(
            version,
            tags.get("month", ""),
            tags.get("role", ""),
            tags.get("decision", ""),
            tags.get("holdout_pr_auc", ""),
            tags.get("threshold", "")[:6],
            ", ".join(aliases),
        )
    yield table
    if registry.quarantined:
        held = Table("month", "delivery", "reason", title="Quarantined months (skipped)")
        for month, record in sorted(registry.quarantined.items()):
            held.add_row(month, record.path.rsplit("/", 1)[-1], record.reason)
        yield held
