"""Each group's live figures: the month's labels joined to the scores the service captured for
its applications (the outcome join's rule: the last score before the run was scheduled), so a
group's false-positive rate, recall and precision are those of the models that served it."""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd

from fraud_detection.core.contract import ID_COLUMN, TARGET_COLUMN
from fraud_detection.core.dataset import stable_seed
from fraud_detection.core.group_spec import parse_attributes
from fraud_detection.core.groups import FIGURES, AttributeFigures, group_figures, poisson_weights
from fraud_detection.core.outcomes import SCORE_COLUMNS, last_scores
from fraud_detection.core.scored import IS_FRAUD, SCORED_AT
from fraud_detection.steps.groups import FIGURE_SHORT, GroupFiguresSettings, metric_key
from fraud_detection.steps.ports import ModelWriter, ScoredReader


def served_groups(
    settings: GroupFiguresSettings, scored: ScoredReader, labels: pd.DataFrame, *, cutoff: datetime
) -> tuple[AttributeFigures, ...]:
    """Every attribute's figures over the month's applications the service scored (none: ())."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = pa.array(labels[ID_COLUMN].to_numpy(dtype="int64"))
    table = scored.read(
        until=cutoff.date(), columns=SCORE_COLUMNS, where=pc.field(ID_COLUMN).isin(ids)
    )
    scores = table.to_pandas()
    scores = scores[scores[SCORED_AT] < pd.Timestamp(cutoff)]
    last = last_scores(scores).astype({ID_COLUMN: "int64"})[[ID_COLUMN, IS_FRAUD]]
    joined = labels.astype({ID_COLUMN: "int64"}).merge(last, on=ID_COLUMN, how="inner")
    if joined.empty:
        return ()
    y = joined[TARGET_COLUMN].to_numpy(dtype="int64")
    flagged = joined[IS_FRAUD].to_numpy(dtype=bool)
    weights = poisson_weights(
        len(joined), settings.group_bootstrap_samples, stable_seed(settings.seed, "live groups")
    )
    return tuple(
        group_figures(a.name, a.levels(joined), y, flagged, weights)
        for a in parse_attributes(settings.group_attributes)
    )


def live_group_metrics(figures: tuple[AttributeFigures, ...]) -> dict[str, float]:
    """``live_group.<attribute>.<level>.<figure>`` (and ``.rows``)."""
    metrics: dict[str, float] = {}
    for attribute in figures:
        for level in attribute.levels:
            metrics["live_" + metric_key(attribute.attribute, level.level, "rows")] = level.rows
            for figure in FIGURES:
                if not math.isnan(level.figures[figure]):
                    key = "live_" + metric_key(attribute.attribute, level.level, figure)
                    metrics[key] = level.figures[figure]
    return metrics


def record_live_groups(
    registry: ModelWriter, run_id: str, figures: tuple[AttributeFigures, ...]
) -> None:
    registry.log_to_run(run_id, metrics=live_group_metrics(figures))


def live_groups_section(figures: tuple[AttributeFigures, ...]) -> str:
    """The report's section: each group's figures as served, on this month's outcomes."""
    head = "## Who was flagged in service, on this month's outcomes\n\n"
    if not figures:
        return f"{head}No captured scores for this month's applications.\n"
    rows = "\n".join(
        f"| {a.attribute} | {lv.level} | {lv.rows:,} | "
        + " | ".join("–" if math.isnan(lv.figures[f]) else f"{lv.figures[f]:.3f}" for f in FIGURES)
        + " |"
        for a in figures
        for lv in a.levels
    )
    names = " | ".join(FIGURE_SHORT[f] for f in FIGURES)
    return (
        f"{head}Decisions as served (each application's last score before this run), by the "
        f"models that served them.\n\n| attribute | group | applications | {names} |\n"
        f"|---|---|---|{'---|' * len(FIGURES)}\n{rows}\n"
    )
