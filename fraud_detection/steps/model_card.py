"""A model card for every version, generated from what the registry and its run hold (never
written by hand): intended use, data, recipe, holdout metrics, groups, threshold, the gate's
reasoning, the review, inputs, known limits and the signed history of what was served.

Per-group figures are whatever the run logged as ``group.<attribute>.<level>.<figure>``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from fraud_detection.core.contract import DERIVED_COLUMN, INPUTS
from fraud_detection.core.features import FEATURES
from fraud_detection.core.lineage import PartitionRef
from fraud_detection.core.model_inputs import INPUTS_LEFT_OUT_PARAM
from fraud_detection.core.signatures import AliasChange, ReviewRecord
from fraud_detection.steps.ports import RegistryReader, VersionView
from fraud_detection.steps.signing import DecisionRecord

GROUP_PREFIX = "group."
FEW_FRAUDS = 30  # holdout frauds below which a month's figures are noted as uncertain
RECIPE_PARAMS = ("positive_weight", "history_half_life_months", "recent_months", "xgb")


class CardSource(DecisionRecord, Protocol):
    """What the card reads beyond the registry's versions: the run's figures and lineage."""

    def run_metrics(self, run_id: str) -> dict[str, float]: ...

    def run_params(self, run_id: str) -> dict[str, str]: ...


class LineageView(RegistryReader, Protocol):
    """The registry with the partitions each version was trained on."""

    def lineage(self, version: str) -> list[PartitionRef]: ...


@dataclass(frozen=True)
class ModelCard:
    """A version's card: its summary, its sections in reading order, its group figures."""

    version: str
    summary: str  # the first paragraph: the version's description in MLflow
    sections: dict[str, str]  # title → markdown body, in reading order
    groups: list[dict[str, Any]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def markdown(self) -> str:
        body = "\n".join(f"## {title}\n\n{text}\n" for title, text in self.sections.items())
        return f"# Model card: version {self.version}\n\n{self.summary}\n\n{body}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "summary": self.summary,
            **self.facts,
            "groups": self.groups,
            "sections": self.sections,
        }


def group_figures(metrics: Mapping[str, float]) -> list[dict[str, Any]]:
    """``group.<attribute>.<level>.<figure>`` metrics → one row per (attribute, level)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for name, value in metrics.items():
        parts = name.split(".")
        if not name.startswith(GROUP_PREFIX) or len(parts) < 4:
            continue
        attribute, level, figure = parts[1], ".".join(parts[2:-1]), parts[-1]
        rows.setdefault((attribute, level), {"attribute": attribute, "level": level})[figure] = (
            value
        )
    return [rows[key] for key in sorted(rows)]


def _groups_table(groups: Sequence[dict[str, Any]]) -> str:
    if not groups:
        return "No per-group figures were logged for this version."
    figures = sorted({k for row in groups for k in row} - {"attribute", "level"})
    head = "| attribute | level | " + " | ".join(f.replace("_", " ") for f in figures) + " |"
    rule = "|---|---|" + "---|" * len(figures)
    lines = [
        f"| {row['attribute']} | {row['level']} | "
        + " | ".join(_figure(row.get(f)) for f in figures)
        + " |"
        for row in groups
    ]
    return "\n".join([head, rule, *lines])


def _figure(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if float(value).is_integer() and abs(value) >= 1 else f"{value:.4f}"


def _data(lineage: Sequence[PartitionRef], params: Mapping[str, str], rate: float | None) -> str:
    months = [p.name for p in lineage if p.name != "base"]
    period = f"{months[0]} to {months[-1]}" if months else "the base history only"
    rows = params.get("training_rows") or params.get("rows") or "unknown"
    lines = [
        f"Trained on {len(lineage)} partitions ({period}), {rows} training rows.",
        f"Fraud rate of the judged month's holdout: {'unknown' if rate is None else f'{rate:.2%}'}.",
        "",
        "| partition | sha256 |",
        "|---|---|",
        *(f"| {p.name} | `{p.sha256[:16]}` |" for p in lineage),
    ]
    return "\n".join(lines)


def _left_out(params: Mapping[str, str]) -> tuple[str, ...] | None:
    """The features the version's run records its model was trained without (None: not
    recorded, a version from before the record)."""
    recorded = params.get(INPUTS_LEFT_OUT_PARAM)
    if recorded is None:
        return None
    return () if recorded == "none" else tuple(recorded.split(","))


def _inputs(params: Mapping[str, str]) -> str:
    """The inputs the model uses and those it leaves out on purpose, as its run recorded them."""
    every = f"{len(INPUTS)} inputs of the contract plus {DERIVED_COLUMN} (docs/contract.md)"
    left = _left_out(params)
    if left is None:
        return f"{every}; the run records no inputs left out."
    if not left:
        return f"All {len(FEATURES)} features: {every}. None is left out."
    names = ", ".join(f"`{name}`" for name in left)
    return (
        f"{len(FEATURES) - len(left)} of the {len(FEATURES)} features: {every}, less those left "
        f"out on purpose (FRAUD_EXCLUDED_INPUTS): {names}. Requests still carry them and are "
        "validated on them, and the groups are still measured on them; the model never sees them."
    )


def _metrics(version: VersionView, metrics: Mapping[str, float]) -> str:
    holdout = version.tags.holdout
    if not holdout:
        return "No holdout figures are recorded for this version."
    lines = ["| metric | holdout | interval |", "|---|---|---|"]
    for name, value in holdout.items():
        low, high = metrics.get(f"{name}_low"), metrics.get(f"{name}_high")
        interval = "–" if low is None or high is None else f"{low:.4f} – {high:.4f}"
        lines.append(f"| {name.replace('_', ' ')} | {value:.4f} | {interval} |")
    return "\n".join(lines)


def _review(version: VersionView, changes: Sequence[AliasChange]) -> str:
    record = ReviewRecord.from_tags(version.tags.other)
    if record is not None:
        note = f" Note: {record.note}" if record.note else ""
        return f"{record.answer.capitalize()} by {record.by} at {record.at}.{note}"
    served = [c for c in changes if c.to_version == version.version]
    if served:
        last = served[-1]
        return f"Made {last.alias} at {last.at} by {last.signed_by}. {last.note or last.rule}"
    return "No person has reviewed this version."


def _history(version: str, changes: Sequence[AliasChange]) -> str:
    mine = [c for c in changes if version in (c.from_version, c.to_version)]
    if not mine:
        return "This version was never served."
    return "\n".join(
        f"- {c.at}: {c.kind} {c.from_version or '–'} → {c.to_version or '–'} by "
        f"{c.signed_by}{': ' + c.note if c.note else ''}"
        for c in reversed(mine)
    )


def _capacity_note(settings: CardSettings) -> str:
    """How the threshold was cut: for the team's capacity, or by F1 on the validation slice."""
    if settings.review_capacity is not None:
        return (
            f", cut so that about {settings.review_capacity:.1%} of recent applications are "
            "flagged (FRAUD_REVIEW_CAPACITY)."
        )
    if settings.review_capacity_per_week is not None:
        return (
            f", cut so that about {settings.review_capacity_per_week:,} applications a week are "
            "flagged (FRAUD_REVIEW_CAPACITY_PER_WEEK)."
        )
    return ", the cut-off with the best F1 on the month's validation slice (no capacity set)."


def _limits(metrics: Mapping[str, float], version: VersionView, refresh_interval_s: float) -> str:
    rate = version.tags.holdout.get("fraud_rate")
    rows = metrics.get("holdout_rows")
    frauds = None if rate is None or rows is None else round(rate * rows)
    few = (
        f"The judged holdout held about {frauds} frauds: its figures are uncertain."
        if frauds is not None and frauds < FEW_FRAUDS
        else "Months with few frauds give wide intervals; read the figures with them."
    )
    return "\n".join(
        [
            "- Trained on the data in the lake (synthetic unless real deliveries were "
            "ingested); it learns the fraud that investigations confirmed, not all fraud.",
            f"- {few}",
            "- Labels arrive late: recent months under-count fraud until they mature.",
            "- The monitor watches input and score drift and the share flagged per group; "
            f"the service follows the champion every {refresh_interval_s:g} s.",
        ]
    )


class CardSettings(Protocol):
    """What a model card says of the settings: the model's name and use, the default
    threshold, the capacity it was cut for and how often the service follows the champion.
    (Not steps.capacity's protocol: the service builds cards and installs no pandas.)"""

    @property
    def review_capacity(self) -> float | None: ...
    @property
    def review_capacity_per_week(self) -> int | None: ...
    @property
    def model_name(self) -> str: ...
    @property
    def model_card_intended_use(self) -> str: ...
    @property
    def default_threshold(self) -> float: ...
    @property
    def refresh_interval_s(self) -> float: ...


def build_card(
    registry: LineageView, source: CardSource, settings: CardSettings, number: str
) -> ModelCard:
    """The card of ``number`` from its tags, run figures, lineage and the signed history."""
    version = registry.version(number)
    run_id = version.run_id
    metrics = source.run_metrics(run_id) if run_id else {}
    params = source.run_params(run_id) if run_id else {}
    changes = source.changes()
    lineage = registry.lineage(number)
    groups = group_figures(metrics)
    tags = version.tags
    threshold = tags.threshold_or(settings.default_threshold)
    summary = (
        f"Version {number} of {settings.model_name}, a {tags.role or 'registered'} model for month "
        f"{tags.month or 'unknown'}: {tags.decision or 'not judged'}. {settings.model_card_intended_use}"
    )
    recipe = ", ".join(f"{k} {params[k]}" for k in RECIPE_PARAMS if k in params)
    sections = {
        "Intended use and users": settings.model_card_intended_use,
        "Data": _data(lineage, params, tags.holdout.get("fraud_rate")),
        "Recipe": f"XGBoost, {recipe or 'parameters in the MLflow run'}; MLflow run `{run_id}`.",
        "Holdout metrics": _metrics(version, metrics),
        "Groups": _groups_table(groups),
        "Threshold and capacity": f"Flags applications with probability ≥ {threshold:.4f}"
        + _capacity_note(settings),
        "The gate's reasoning": tags.decision_reason or "No decision recorded.",
        "Review": _review(version, changes),
        "Inputs": _inputs(params),
        "Known limits": _limits(metrics, version, settings.refresh_interval_s),
        "History": _history(number, changes),
    }
    facts = {
        "month": tags.month,
        "decision": tags.decision,
        "threshold": threshold,
        "holdout": dict(tags.holdout),
        "partitions": [{"name": p.name, "sha256": p.sha256} for p in lineage],
        "inputs_left_out": list(_left_out(params) or ()),
    }
    return ModelCard(number, summary, sections, groups, facts)


class CardStore(CardSource, Protocol):
    """Where a card is kept: the version's run and description."""

    def save_card(self, version: str, run_id: str | None, markdown: str, summary: str) -> None: ...


def publish_card(
    registry: LineageView, store: CardStore, settings: CardSettings, number: str
) -> ModelCard:
    """Build the card and keep it in the version's run (``model_card.md``), its first
    paragraph as the version's description, so the registry page says what each version is."""
    card = build_card(registry, store, settings, number)
    store.save_card(number, registry.version(number).run_id, card.markdown(), card.summary)
    return card
