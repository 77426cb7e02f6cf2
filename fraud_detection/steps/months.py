"""Which month to run next, and whether a month is already decided (nothing read from data)."""

from __future__ import annotations

from fraud_detection.core.tags import QuarantineRecord
from fraud_detection.steps.maturity import awaiting_judgement
from fraud_detection.steps.ports import LakeReader, RegistryReader


def next_month(lake: LakeReader, registry: RegistryReader) -> str | None:
    """The earliest month with no decision whose delivery in force is not quarantined."""
    decided = registry.decided_months() - awaiting_judgement(lake, registry)
    quarantined = registry.quarantined()
    for month in lake.list_months():
        if month in decided:
            continue
        if month in quarantined and _still_quarantined(lake, month, quarantined[month]):
            continue
        return month
    return None


def _still_quarantined(lake: LakeReader, month: str, record: QuarantineRecord) -> bool:
    """The delivery in force is the one quarantined (only such months' bytes are read here)."""
    if record.path != lake.latest(month):
        return False  # a corrected delivery beside it
    return lake.fetch(month)[1].sha256 == record.sha256  # or the file was replaced in place


def already_decided(
    registry: RegistryReader, month: str, lake: LakeReader | None = None
) -> dict[str, str] | None:
    """The decided version of a month, if any (no data is read); with the lake, a month held
    as immature whose later delivery came is not decided (it is judged again)."""
    if lake is not None and month in awaiting_judgement(lake, registry):
        return None
    for version in registry.versions():
        tags = version.tags
        if tags.month == month and tags.judged:
            assert tags.decision is not None
            return {"version": version.version, "decision": tags.decision.value}
    return None
