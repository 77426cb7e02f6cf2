"""The monthly retraining steps, as plain functions (the Prefect flow wraps each as a task).

fetch → validate → train challenger → evaluate both on one holdout → decide → transition → report.
Every step is safe to repeat: training reuses the version already registered for the same month
and data, and aliases move only by compare-and-set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fraud_detection import plots
from fraud_detection.config import Settings
from fraud_detection.dataset import split_month, stable_seed, training_pool
from fraud_detection.evaluation import (
    Decision,
    PairedComparison,
    decide,
    metrics_at,
    paired_bootstrap,
    predict_proba,
)
from fraud_detection.features import (
    TARGET_COLUMN,
    ContractError,
    Problem,
    feature_matrix,
    validate_frame,
)
from fraud_detection.lake import Lake, LakeError, PartitionRef
from fraud_detection.redact import redact_uri
from fraud_detection.registry import Registry, lineage_hash
from fraud_detection.training import TrainedModel, train

BASE = "base"
MIN_POSITIVES = 4  # fewer cannot be split into training and holdout parts meaningfully


@dataclass(frozen=True)
class MonthData:
    ref: PartitionRef
    raw: bytes  # exactly the bytes that were hashed; decoded by ``validate``


@dataclass(frozen=True)
class Challenger:
    month: str
    version: str
    run_id: str
    threshold: float
    data_sha256: str
    reused: bool  # True when this month and data had been trained before (a retry or re-run)
    decision: str | None = None  # set when the month was already decided


@dataclass(frozen=True)
class Evaluation:
    month: str
    challenger: Challenger
    champion_version: str | None  # the champion when the evaluation began (compare-and-set)
    compared_version: str | None  # the model scored against the challenger
    challenger_metrics: dict[str, float]
    champion_metrics: dict[str, float] | None
    comparison: PairedComparison | None
    holdout_rows: int


@dataclass(frozen=True)
class Outcome:
    month: str
    decision: Decision
    champion_version: str
    challenger_version: str
    links: dict[str, Any] = field(default_factory=dict)


# -- fetch and validate ------------------------------------------------------------------------
def next_month(settings: Settings) -> str | None:
    """The earliest month in the lake that no run has decided yet."""
    done = Registry(settings).decided_months()
    pending = [m for m in Lake.from_settings(settings).list_months() if m not in done]
    return pending[0] if pending else None


def fetch(settings: Settings, name: str) -> MonthData:
    raw, ref = Lake.from_settings(settings).fetch(name)
    return MonthData(ref, raw)


class MonthError(ValueError):
    """A partition that cannot be used; the message names the file, the column and the problem."""


def validate(settings: Settings, data: MonthData, *, labelled: bool = True) -> pd.DataFrame:
    """The month against the contract; errors name the partition, the column and the problem."""
    try:
        frame = Lake.from_settings(settings).decode(data.ref, data.raw)
    except LakeError as exc:
        raise MonthError(str(exc)) from exc
    try:
        return _validate_frame(frame, data.ref.path, labelled)
    except ContractError as exc:
        raise MonthError(str(exc)) from exc


def _validate_frame(frame: pd.DataFrame, source: str, labelled: bool) -> pd.DataFrame:
    clean = validate_frame(frame, require_target=labelled, source=source)
    if labelled:
        positives = int(clean[TARGET_COLUMN].sum())
        if positives == 0 or positives == len(clean):
            raise ContractError(
                [Problem(TARGET_COLUMN, "a single class in the whole month")], source
            )
        if min(positives, len(clean) - positives) < MIN_POSITIVES:
            raise ContractError(
                [Problem(TARGET_COLUMN, f"fewer than {MIN_POSITIVES} rows of one class")],
                source,
            )
    return clean


# -- train -------------------------------------------------------------------------------------
def _training_inputs(
    settings: Settings, month: str, month_frame: pd.DataFrame, month_ref: PartitionRef
) -> tuple[pd.DataFrame, pd.DataFrame, list[PartitionRef]]:
    """Pool (base + decided earlier months + this month's training part), holdout, lineage."""
    lake = Lake.from_settings(settings)
    base = fetch(settings, BASE)
    lineage = [base.ref]
    decided = Registry(settings).decided_months()
    earlier = []
    for name in lake.list_months():
        if name < month and name in decided:
            data = fetch(settings, name)
            earlier.append(validate(settings, data))
            lineage.append(data.ref)
    lineage.append(month_ref)
    split = split_month(
        month_frame, holdout_fraction=settings.holdout_fraction, seed=settings.seed, month=month
    )
    pool = training_pool(validate(settings, base), earlier, split.train)
    return pool, split.holdout, lineage


def holdout_of(settings: Settings, month: str, month_frame: pd.DataFrame) -> pd.DataFrame:
    """The month's held-out part (deterministic: same month, same seed → same rows)."""
    return split_month(
        month_frame, holdout_fraction=settings.holdout_fraction, seed=settings.seed, month=month
    ).holdout


def train_challenger(settings: Settings, data: MonthData, clean: pd.DataFrame) -> Challenger:
    """Train and register the month's challenger, or return the version already registered."""
    month = data.ref.name
    registry = Registry(settings)
    pool, _, lineage = _training_inputs(settings, month, clean, data.ref)
    data_sha256 = lineage_hash(lineage)
    existing = registry.find_version(month, data_sha256)
    if existing is not None:
        return Challenger(
            month,
            str(existing.version),
            existing.run_id or "",
            float(existing.tags["threshold"]),
            data_sha256,
            reused=True,
            decision=existing.tags.get("decision"),
        )
    seed = stable_seed(settings.seed, month) % (2**31)
    trained = _fit(settings, pool, seed)
    version, run_id = _log_and_register(
        settings,
        trained,
        month=month,
        data_sha256=data_sha256,
        lineage=lineage,
        run_name=f"retrain-{month}",
        metrics={"threshold": trained.threshold},
        params={"train_seed": seed},
    )
    return Challenger(month, version, run_id, trained.threshold, data_sha256, reused=False)


def _fit(settings: Settings, pool: pd.DataFrame, seed: int) -> TrainedModel:
    return train(
        pool,
        settings.xgb,
        train_positive_rate=settings.train_positive_rate,
        validation_fraction=settings.validation_fraction,
        seed=seed,
    )


def _log_and_register(
    settings: Settings,
    trained: TrainedModel,
    *,
    month: str,
    data_sha256: str,
    lineage: list[PartitionRef],
    run_name: str,
    metrics: dict[str, float],
    params: dict[str, Any] | None = None,
) -> tuple[str, str]:
    """One MLflow run (params, metrics, lineage, importance plot, UBJ model) and its version."""
    registry = Registry(settings)
    tags = {
        "month": month,
        "data_sha256": data_sha256,
        "threshold": repr(trained.threshold),
        "training_rows": str(trained.rows["pool_rows"]),
    }
    run_id, model_uri = registry.log_model_run(
        trained.model,
        run_name=run_name,
        params={**settings.public_params(), **trained.rows, "month": month, **(params or {})},
        metrics={"validation_f1": trained.validation_f1, **metrics},
        tags=tags,
        lineage=lineage,
        figures={"plots/feature_importance.png": plots.feature_importance(trained.booster)},
    )
    return registry.register_version(model_uri, run_id, {**tags, "run_id": run_id}), run_id


# -- evaluate, decide, transition --------------------------------------------------------------
def evaluate(settings: Settings, challenger: Challenger, holdout: pd.DataFrame) -> Evaluation:
    """Score the champion and the challenger on the same holdout, neither trained on it."""
    registry = Registry(settings)
    champion = registry.champion()
    champion_version = champion.version if champion else None
    compared = champion_version
    if champion is not None and champion.version == challenger.version:
        # A retry after the promotion itself: compare with the champion it replaced.
        compared = champion.tags.get("promoted_from") or None
    matrix = feature_matrix(holdout)
    y = holdout[TARGET_COLUMN].to_numpy()
    p_new = predict_proba(registry.load_booster(challenger.version), matrix)
    new_metrics = metrics_at(y, p_new, challenger.threshold)
    old_metrics = comparison = None
    curves = {f"challenger v{challenger.version}": (p_new, challenger.threshold)}
    if compared is not None:
        old_threshold = float(
            registry.version(compared).tags.get("threshold", settings.default_threshold)
        )
        p_old = predict_proba(registry.load_booster(compared), matrix)
        old_metrics = metrics_at(y, p_old, old_threshold)
        comparison = paired_bootstrap(
            y,
            (p_old, old_threshold),
            (p_new, challenger.threshold),
            metric=settings.primary_metric,
            samples=settings.bootstrap_samples,
            seed=stable_seed(settings.seed, challenger.month) % (2**31),
        )
        curves[f"champion v{compared}"] = (p_old, old_threshold)
    logged = {f"holdout_{k}": v for k, v in new_metrics.items()}
    if old_metrics is not None:
        logged |= {f"champion_holdout_{k}": v for k, v in old_metrics.items()}
    if comparison is not None:
        logged |= {"diff_" + k: v for k, v in comparison.as_dict().items() if isinstance(v, float)}
    registry.log_to_run(challenger.run_id, metrics=logged)
    registry.client.log_figure(
        challenger.run_id, plots.pr_curves(y, curves), "plots/holdout_pr.png"
    )
    registry.client.log_figure(
        challenger.run_id,
        plots.confusion(new_metrics, f"challenger v{challenger.version}"),
        "plots/holdout_confusion.png",
    )
    return Evaluation(
        challenger.month,
        challenger,
        champion_version,
        compared,
        new_metrics,
        old_metrics,
        comparison,
        len(holdout),
    )


def compare(settings: Settings, evaluation: Evaluation) -> Decision:
    return decide(
        evaluation.champion_metrics,
        evaluation.challenger_metrics,
        metric=settings.primary_metric,
        margin=settings.promotion_margin,
    )


def transition(settings: Settings, evaluation: Evaluation, decision: Decision) -> Outcome:
    """Set ``challenger``; move ``champion`` only on a win and only if it has not moved since."""
    registry = Registry(settings)
    version = evaluation.challenger.version
    registry.set_challenger(version)
    if decision.promote:
        registry.promote(version, expected_champion=evaluation.champion_version)
    champion = registry.champion()
    metric = settings.primary_metric
    # The decision tag goes last: it marks the month as finished.
    registry.set_tags(
        version,
        {
            f"holdout_{metric}": f"{evaluation.challenger_metrics[metric]:.4f}",
            "compared_with": evaluation.compared_version or "",
            "decision_reason": decision.reason,
            "decision": "promoted" if decision.promote else "rejected",
        },
    )
    return Outcome(evaluation.month, decision, champion.version if champion else "", version)


# -- report ------------------------------------------------------------------------------------
def report_rows(evaluation: Evaluation) -> list[dict[str, Any]]:
    """Champion and challenger metrics side by side (one row per metric)."""
    rows = []
    for metric in ("f1", "precision", "recall", "pr_auc", "roc_auc", "brier", "threshold"):
        new = evaluation.challenger_metrics[metric]
        old = evaluation.champion_metrics[metric] if evaluation.champion_metrics else None
        rows.append(
            {
                "metric": metric,
                "champion": None if old is None else round(old, 4),
                "challenger": round(new, 4),
                "difference": None if old is None else round(new - old, 4),
            }
        )
    return rows


def report_markdown(evaluation: Evaluation, outcome: Outcome, *, tracking_uri: str) -> str:
    c = evaluation.comparison
    interval = (
        (
            f"{c.difference:+.4f} (95 % paired bootstrap interval {c.low:+.4f} … {c.high:+.4f}, "
            f"challenger better in {c.share_better:.0%} of {c.samples} resamples)"
        )
        if c
        else "n/a (no champion)"
    )
    table = "\n".join(
        "| {metric} | {old} | {new} | {diff} |".format(
            metric=r["metric"],
            old="–" if r["champion"] is None else r["champion"],
            new=r["challenger"],
            diff="–" if r["difference"] is None else f"{r['difference']:+.4f}",
        )
        for r in report_rows(evaluation)
    )
    verdict = "**promoted**" if outcome.decision.promote else "**rejected**"
    return f"""# Retrain {evaluation.month}: challenger v{outcome.challenger_version} {verdict}

- Holdout: {evaluation.holdout_rows} rows of {evaluation.month} at the natural fraud rate (neither model trained on them)
- Champion before: v{evaluation.champion_version or "–"} · compared with: v{evaluation.compared_version or "–"} · champion now: v{outcome.champion_version}
- Difference in {c.metric if c else "f1"}: {interval}
- Decision: {outcome.decision.reason}
- Training data: `{evaluation.challenger.data_sha256[:16]}…`{" (reused an existing version)" if evaluation.challenger.reused else ""}
- MLflow run `{evaluation.challenger.run_id}` at `{redact_uri(tracking_uri)}`

| metric | champion | challenger | difference |
|---|---|---|---|
{table}
"""


def record_report(settings: Settings, evaluation: Evaluation, markdown: str) -> None:
    Registry(settings).log_to_run(evaluation.challenger.run_id, text={"report.md": markdown})


def month_frame_stats(frame: pd.DataFrame) -> dict[str, float]:
    return {"rows": float(len(frame)), "fraud_rate": float(np.mean(frame[TARGET_COLUMN]))}


# -- the first champion ------------------------------------------------------------------------
@dataclass(frozen=True)
class Bootstrap:
    version: str
    created: bool  # False when a champion already existed (running bootstrap twice is safe)
    metrics: dict[str, float] = field(default_factory=dict)


def bootstrap_champion(settings: Settings, base: MonthData, clean: pd.DataFrame) -> Bootstrap:
    """Train the first champion on the base history (holding part of it out for its metrics)."""
    registry = Registry(settings)
    champion = registry.champion()
    if champion is not None:
        return Bootstrap(champion.version, created=False)
    data_sha256 = lineage_hash([base.ref])
    existing = registry.find_version(BASE, data_sha256)
    if existing is not None:  # trained before a crash, never promoted
        registry.promote(str(existing.version), expected_champion=None)
        return Bootstrap(str(existing.version), created=True)
    split = split_month(clean, holdout_fraction=0.2, seed=settings.seed, month=BASE)
    trained = _fit(settings, split.train, settings.seed)
    holdout_metrics = metrics_at(
        split.holdout[TARGET_COLUMN].to_numpy(),
        predict_proba(trained.booster, feature_matrix(split.holdout)),
        trained.threshold,
    )
    version, _ = _log_and_register(
        settings,
        trained,
        month=BASE,
        data_sha256=data_sha256,
        lineage=[base.ref],
        run_name="bootstrap-base",
        metrics={f"holdout_{k}": v for k, v in holdout_metrics.items()},
    )
    registry.promote(version, expected_champion=None)
    registry.set_tags(
        version,
        {
            "decision": "promoted",
            "decision_reason": "first champion",
            "holdout_f1": f"{holdout_metrics['f1']:.4f}",
        },
    )
    return Bootstrap(version, created=True, metrics=holdout_metrics)
