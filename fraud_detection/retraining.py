"""The monthly retraining pipeline as plain steps over the lake and the registry.

One line, each step safe to repeat (the Prefect flow wraps each as a task):

already decided? (registry only, nothing read) → fetch → validate (pure) → split once →
gather the pool and lineage → train or reuse the challenger → evaluate (pure: scores, metrics,
paired test, data alarm) → decide → refit the served model (on promotion) → record to MLflow →
transition aliases (compare-and-set) → report.

A month that fails validation or raises the data alarm is quarantined: its bytes stay as they
are, the schedule skips it, and a corrected delivery of the month is trained and judged.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fraud_detection import plots
from fraud_detection.config import Settings
from fraud_detection.dataset import MonthSplit, month_age, split_month, stable_seed
from fraud_detection.decision import (
    Alarm,
    Decision,
    PairedTest,
    data_alarm,
    decide,
    prior_corrected,
)
from fraud_detection.evaluation import PairedComparison, metrics_at, paired_bootstrap, predict_proba
from fraud_detection.features import (
    TARGET_COLUMN,
    ContractError,
    Problem,
    feature_matrix,
    validate_frame,
)
from fraud_detection.lake import Lake, LakeError, PartitionRef, decode
from fraud_detection.redact import redact_uri
from fraud_detection.registry import DECIDED, Registry, lineage_hash
from fraud_detection.training import TrainedModel, TrainingPart, refit_parts, train_parts

BASE = "base"
MIN_POSITIVES = 4  # fewer cannot be split into training and holdout parts meaningfully
ALARM_HISTORY = 3  # recent months whose champion quality sets the alarm's reference


@dataclass(frozen=True)
class MonthData:
    ref: PartitionRef
    raw: bytes  # exactly the bytes that were hashed; decoded by ``validate``


@dataclass(frozen=True)
class TrainingInputs:
    month: str
    parts: list[TrainingPart]  # base, earlier decided months, this month's training part
    holdout: pd.DataFrame  # this month's held-out rows (judging only; refit uses them)
    lineage: list[PartitionRef]
    data_sha256: str


@dataclass(frozen=True)
class Challenger:
    month: str
    version: str
    run_id: str
    threshold: float
    data_sha256: str
    reused: bool  # True when this month and data had been trained before (a retry or re-run)
    positive_rate: float = 0.25  # class prior the model was trained at (weighted)
    decision: str | None = None


@dataclass(frozen=True)
class Evaluation:
    month: str
    challenger: Challenger
    champion_version: str | None  # the champion when the evaluation began (compare-and-set)
    compared_version: str | None  # the model scored against the challenger
    challenger_metrics: dict[str, float]
    champion_metrics: dict[str, float] | None
    test: PairedTest | None
    decision: Decision
    alarm: Alarm
    pr_auc: PairedComparison | None  # paired bootstrap of PR-AUC, for the report
    holdout_rows: int
    curves: dict[str, tuple[np.ndarray, float]] = field(default_factory=dict, repr=False)
    y: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)


@dataclass(frozen=True)
class Outcome:
    month: str
    decision: Decision
    champion_version: str
    challenger_version: str
    served_version: str | None = None  # the refit that became champion, if any


class MonthError(ValueError):
    """A partition that cannot be used; the message names the file, the column and the problem."""


# -- which month, and is it done? --------------------------------------------------------------
def next_month(lake: Lake, registry: Registry) -> str | None:
    """The earliest month with no decision whose delivery in force is not quarantined."""
    decided = registry.decided_months()
    quarantined = registry.quarantined()
    for month in lake.list_months():
        if month in decided:
            continue
        if month in quarantined and _still_quarantined(lake, month, quarantined[month]):
            continue
        return month
    return None


def _still_quarantined(lake: Lake, month: str, record: dict[str, str]) -> bool:
    """The delivery in force is the one quarantined (only such months' bytes are read here)."""
    if record["path"] != lake.latest(month):
        return False  # a corrected delivery beside it
    return lake.fetch(month)[1].sha256 == record["sha256"]  # or the file was replaced in place


def already_decided(registry: Registry, month: str) -> dict[str, str] | None:
    """The decided version of a month, if any (the registry only: no data is read)."""
    for version in registry.versions():
        tags = version.tags
        if tags.get("month") == month and tags.get("decision") in DECIDED:
            if tags.get("role") == "refit":
                continue
            return {"version": str(version.version), "decision": tags["decision"]}
    return None


# -- fetch, validate, split --------------------------------------------------------------------
def fetch(lake: Lake, name: str) -> MonthData:
    raw, ref = lake.fetch(name)
    return MonthData(ref, raw)


def validate(data: MonthData, *, labelled: bool = True) -> pd.DataFrame:
    """The month's bytes against the contract (pure); errors name the file, column, problem."""
    try:
        frame = decode(data.ref, data.raw)
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


def split(settings: Settings, month: str, clean: pd.DataFrame) -> MonthSplit:
    """The month's training part and holdout, once (same month and seed → same rows)."""
    return split_month(
        clean, holdout_fraction=settings.holdout_fraction, seed=settings.seed, month=month
    )


def quarantine(registry: Registry, data: MonthData, reason: str, run_id: str | None = None) -> None:
    """Mark the month's delivery in force as unusable (its bytes stay as they are)."""
    registry.quarantine(data.ref.name, data.ref.path, data.ref.sha256, reason, run_id=run_id)


# -- the pool ----------------------------------------------------------------------------------
def gather(
    lake: Lake, registry: Registry, data: MonthData, month_split: MonthSplit
) -> TrainingInputs:
    """Base + decided earlier months + this month's training part, with ages and lineage."""
    month = data.ref.name
    decided = registry.decided_months()
    earlier = [m for m in lake.list_months() if m < month and m in decided]
    base = fetch(lake, BASE)
    parts = []
    lineage = [base.ref]
    oldest = min([*earlier, month])
    parts.append(TrainingPart(BASE, validate(base), month_age(month, oldest) + 1))
    for name in earlier:
        data = fetch(lake, name)
        parts.append(TrainingPart(name, validate(data), month_age(month, name)))
        lineage.append(data.ref)
    lineage.append(data.ref)
    parts.append(TrainingPart(month, month_split.train, 0.0))
    return TrainingInputs(month, parts, month_split.holdout, lineage, lineage_hash(lineage))


# -- train ---------------------------------------------------------------------------------------
def train_challenger(registry: Registry, settings: Settings, inputs: TrainingInputs) -> Challenger:
    """Train and register the month's challenger, or return the version already registered."""
    month = inputs.month
    existing = registry.find_version(month, inputs.data_sha256, role="challenger")
    if existing is not None:
        return _challenger_of(month, existing, inputs.data_sha256, settings, reused=True)
    seed = stable_seed(settings.seed, month) % (2**31)
    trained = train_parts(inputs.parts, settings.xgb, settings.drift_plan(), seed=seed)
    version, _ = _log_and_register(
        registry,
        settings,
        trained,
        month=month,
        data_sha256=inputs.data_sha256,
        lineage=inputs.lineage,
        run_name=f"retrain-{month}",
        role="challenger",
        params={"train_seed": seed},
    )
    found = registry.version(version)
    return _challenger_of(month, found, inputs.data_sha256, settings, reused=False)


def _challenger_of(
    month: str, version: Any, data_sha256: str, settings: Settings, *, reused: bool
) -> Challenger:
    tags = version.tags
    return Challenger(
        month,
        str(version.version),
        version.run_id or "",
        float(tags.get("threshold", settings.default_threshold)),
        data_sha256,
        reused=reused,
        positive_rate=float(tags.get("trained_positive_rate", settings.train_positive_rate)),
        decision=tags.get("decision"),
    )


def _log_and_register(
    registry: Registry,
    settings: Settings,
    trained: TrainedModel,
    *,
    month: str,
    data_sha256: str,
    lineage: list[PartitionRef],
    run_name: str,
    role: str,
    params: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
    extra_tags: dict[str, str] | None = None,
) -> tuple[str, str]:
    """One MLflow run (params, metrics, weights per month, lineage, UBJ model) and its version."""
    rate = trained.trained_rate
    tags = {
        "month": month,
        "role": role,
        "data_sha256": data_sha256,
        "threshold": repr(trained.threshold),
        "trained_positive_rate": f"{rate:.6f}",
        "training_rows": str(trained.rows["pool_rows"]),
        **(extra_tags or {}),
    }
    weights = {f"weight_{name}": w for name, w in trained.month_weights.items()}
    logged_metrics = {"threshold": trained.threshold, **weights, **(metrics or {})}
    if np.isfinite(trained.validation_f1):
        logged_metrics["validation_f1"] = trained.validation_f1
    run_id, model_uri = registry.log_model_run(
        trained.booster,
        run_name=run_name,
        params={
            **settings.public_params(),
            **trained.rows,
            "month": month,
            "role": role,
            "positive_weight": f"{trained.positive_weight:.4f}",
            **(params or {}),
        },
        metrics=logged_metrics,
        tags=tags,
        lineage=lineage,
        figures={"plots/feature_importance.png": plots.feature_importance(trained.booster)},
        texts={"training_weights.json": _weights_json(trained)},
    )
    return registry.register_version(model_uri, run_id, {**tags, "run_id": run_id}), run_id


def _weights_json(trained: TrainedModel) -> str:
    return json.dumps(
        {
            "history_stage_weight_per_partition": trained.month_weights,
            "positive_weight": trained.positive_weight,
        },
        indent=2,
        sort_keys=True,
    )


# -- evaluate and decide (pure: nothing is written) ---------------------------------------------
def _reference_quality(registry: Registry, month: str) -> tuple[list[float], list[float]]:
    """The champion's holdout ROC-AUC and the fraud rate of the latest decided months."""
    rows = []
    for version in registry.versions():
        tags = version.tags
        earlier = tags.get("month", "") < month or tags.get("month") == BASE
        if tags.get("decision") in DECIDED and tags.get("role") != "refit" and earlier:
            rows.append(tags)
    base_like = [t for t in rows if t.get("month") == BASE]
    monthly = sorted((t for t in rows if t.get("month") != BASE), key=lambda t: t["month"])
    recent = monthly[-ALARM_HISTORY:] or base_like
    aucs = [float(t["champion_holdout_roc_auc"]) for t in recent if "champion_holdout_roc_auc" in t]
    if not aucs:
        aucs = [float(t["holdout_roc_auc"]) for t in base_like if "holdout_roc_auc" in t]
    rates = [float(t["holdout_fraud_rate"]) for t in recent if "holdout_fraud_rate" in t]
    return aucs, rates


def evaluate(
    registry: Registry, settings: Settings, challenger: Challenger, holdout: pd.DataFrame
) -> Evaluation:
    """Score both models on the same holdout, test the paired difference, check the data."""
    champion = registry.champion()
    champion_version = champion.version if champion else None
    compared = champion_version
    if champion is not None and champion.version == challenger.version:
        compared = champion.tags.get("promoted_from") or None  # a retry after the promotion
    if champion is not None and champion.tags.get("refit_of") == challenger.version:
        compared = champion.tags.get("promoted_from") or None  # its refit was promoted already
    matrix = feature_matrix(holdout)
    y = holdout[TARGET_COLUMN].to_numpy()
    rate = float(np.mean(y))
    p_new = predict_proba(registry.load_booster(challenger.version), matrix)
    new_metrics = metrics_at(y, p_new, challenger.threshold)
    curves = {f"challenger v{challenger.version}": (p_new, challenger.threshold)}
    old_metrics = p_old = test = pr_auc = None
    if compared is not None:
        tags = registry.version(compared).tags
        old_threshold = float(tags.get("threshold", settings.default_threshold))
        old_rate = float(tags.get("trained_positive_rate", settings.train_positive_rate))
        p_old = predict_proba(registry.load_booster(compared), matrix)
        old_metrics = metrics_at(y, p_old, old_threshold)
        curves[f"champion v{compared}"] = (p_old, old_threshold)
        pr_auc = paired_bootstrap(
            y,
            (p_old, old_threshold),
            (p_new, challenger.threshold),
            metric="pr_auc",
            samples=settings.bootstrap_samples,
            seed=stable_seed(settings.seed, challenger.month) % (2**31),
        )
        decision, test = decide(
            y,
            prior_corrected(p_old, trained_rate=old_rate, target_rate=rate),
            prior_corrected(p_new, trained_rate=challenger.positive_rate, target_rate=rate),
            settings.gate_rule(),
        )
    else:
        decision, _ = decide(y, None, p_new, settings.gate_rule())
    aucs, rates = _reference_quality(registry, challenger.month)
    alarm = data_alarm(
        y,
        p_old,
        reference_roc_auc=aucs,
        reference_fraud_rates=rates,
        max_auc_drop=settings.alarm_auc_drop,
        max_rate_factor=settings.alarm_rate_factor,
    )
    if alarm.raised:
        decision = Decision(
            False,
            f"{alarm.reason} The month is quarantined and the champion kept, whatever the "
            f"challenger scores ({decision.reason})",
            verdict="quarantined",
        )
    return Evaluation(
        challenger.month,
        challenger,
        champion_version,
        compared,
        new_metrics,
        old_metrics,
        test,
        decision,
        alarm,
        pr_auc,
        len(holdout),
        curves,
        y,
    )


# -- the served model --------------------------------------------------------------------------
def refit(
    registry: Registry, settings: Settings, inputs: TrainingInputs, challenger: Challenger
) -> str:
    """The judged recipe refitted on the whole month (holdout included) → its version."""
    existing = registry.find_version(inputs.month, inputs.data_sha256, role="refit")
    if existing is not None:
        return str(existing.version)
    seed = stable_seed(settings.seed, inputs.month) % (2**31)
    parts = [*inputs.parts[:-1], TrainingPart(inputs.month, _whole_month(inputs), 0.0)]
    trained = refit_parts(
        parts,
        settings.xgb,
        settings.drift_plan(),
        seed=seed,
        threshold=challenger.threshold,
        judged=registry.load_booster(challenger.version),
    )
    version, _ = _log_and_register(
        registry,
        settings,
        trained,
        month=inputs.month,
        data_sha256=inputs.data_sha256,
        lineage=inputs.lineage,
        run_name=f"refit-{inputs.month}",
        role="refit",
        params={"train_seed": seed, "refit_of": challenger.version},
        extra_tags={"refit_of": challenger.version},
    )
    return version


def _whole_month(inputs: TrainingInputs) -> pd.DataFrame:
    return pd.concat([inputs.parts[-1].frame, inputs.holdout], ignore_index=True)


# -- record, transition, report ------------------------------------------------------------------
def record(registry: Registry, evaluation: Evaluation) -> None:
    """Holdout metrics, the paired test, the alarm and the plots on the challenger's run."""
    run_id = evaluation.challenger.run_id
    logged = {f"holdout_{k}": v for k, v in evaluation.challenger_metrics.items()}
    if evaluation.champion_metrics is not None:
        logged |= {f"champion_holdout_{k}": v for k, v in evaluation.champion_metrics.items()}
    if evaluation.test is not None:
        logged |= {
            f"gate_{k}": v for k, v in evaluation.test.as_dict().items() if isinstance(v, float)
        }
    if evaluation.pr_auc is not None:
        logged |= {
            f"pr_auc_diff_{k}": v
            for k, v in evaluation.pr_auc.as_dict().items()
            if isinstance(v, float)
        }
    tags = {
        "data_alarm": "raised" if evaluation.alarm.raised else "none",
        "decision_reason": evaluation.decision.reason[:5000],
    }
    if evaluation.alarm.raised:
        tags["data_alarm_reason"] = evaluation.alarm.reason
    registry.log_to_run(run_id, metrics=logged, tags=tags)
    y = evaluation.y
    registry.client.log_figure(
        run_id, plots.pr_curves(y, evaluation.curves), "plots/holdout_pr.png"
    )
    registry.client.log_figure(
        run_id,
        plots.confusion(
            evaluation.challenger_metrics, f"challenger v{evaluation.challenger.version}"
        ),
        "plots/holdout_confusion.png",
    )


def transition(
    registry: Registry,
    settings: Settings,
    evaluation: Evaluation,
    data: MonthData,
    served_version: str | None = None,
) -> Outcome:
    """Set ``challenger``; move ``champion`` only on a win and only if it has not moved since."""
    version = evaluation.challenger.version
    decision = evaluation.decision
    registry.set_challenger(version)
    if decision.verdict == "quarantined":
        quarantine(registry, data, evaluation.alarm.reason, run_id=evaluation.challenger.run_id)
    promoted = served_version or version
    if decision.promote:
        registry.promote(promoted, expected_champion=evaluation.champion_version)
    champion = registry.champion()
    tags = {
        "holdout_pr_auc": f"{evaluation.challenger_metrics['pr_auc']:.4f}",
        "holdout_f1": f"{evaluation.challenger_metrics['f1']:.4f}",
        "holdout_fraud_rate": f"{evaluation.alarm.fraud_rate:.6f}",
        "compared_with": evaluation.compared_version or "",
        "decision_reason": decision.reason[:5000],
    }
    if evaluation.alarm.champion_roc_auc is not None:
        tags["champion_holdout_roc_auc"] = f"{evaluation.alarm.champion_roc_auc:.4f}"
    if served_version and decision.promote:
        tags["served_as"] = served_version
        registry.set_tags(
            served_version,
            {"decision": "promoted", "decision_reason": "refit of the promoted challenger"},
        )
    tags["decision"] = decision.verdict  # last: it marks the month as finished
    registry.set_tags(version, tags)
    return Outcome(
        evaluation.month,
        decision,
        champion.version if champion else "",
        version,
        served_version if decision.promote else None,
    )


def report_rows(evaluation: Evaluation) -> list[dict[str, Any]]:
    """Champion and challenger metrics side by side (one row per metric)."""
    rows = []
    for metric in ("pr_auc", "roc_auc", "brier", "f1", "precision", "recall", "threshold"):
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
    c = evaluation.pr_auc
    pr_line = (
        f"{c.difference:+.4f} (95 % paired bootstrap interval {c.low:+.4f} … {c.high:+.4f})"
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
    verdict = f"**{outcome.decision.verdict}**"
    alarm = evaluation.alarm
    served = (
        f" · served as v{outcome.served_version} (the same recipe refitted on the whole month)"
        if outcome.served_version
        else ""
    )
    return f"""# Retrain {evaluation.month}: challenger v{outcome.challenger_version} {verdict}

**Decision.** {outcome.decision.reason}

- Holdout: {evaluation.holdout_rows} rows of {evaluation.month} at the natural fraud rate ({alarm.fraud_rate:.1%}); neither model trained on them
- Champion before: v{evaluation.champion_version or "–"} · compared with: v{evaluation.compared_version or "–"} · champion now: v{outcome.champion_version}{served}
- Data check: {alarm.reason}{f" Champion ROC-AUC on this holdout {alarm.champion_roc_auc:.3f}" if alarm.champion_roc_auc is not None else ""}{f" (recent months {alarm.reference_roc_auc:.3f})" if alarm.reference_roc_auc is not None else ""}
- PR-AUC difference (challenger − champion): {pr_line}
- Training data: `{evaluation.challenger.data_sha256[:16]}…`{" (reused an existing version)" if evaluation.challenger.reused else ""}
- MLflow run `{evaluation.challenger.run_id}` at `{redact_uri(tracking_uri)}`

| metric | champion | challenger | difference |
|---|---|---|---|
{table}
"""


def record_report(registry: Registry, evaluation: Evaluation, markdown: str) -> None:
    registry.log_to_run(evaluation.challenger.run_id, text={"report.md": markdown})


# -- the first champion ------------------------------------------------------------------------
@dataclass(frozen=True)
class Bootstrap:
    version: str
    created: bool  # False when a champion already existed (running bootstrap twice is safe)
    metrics: dict[str, float] = field(default_factory=dict)


def bootstrap_champion(
    registry: Registry, settings: Settings, base: MonthData, clean: pd.DataFrame
) -> Bootstrap:
    """Train the first champion on the base history (holding part of it out for its metrics)."""
    champion = registry.champion()
    if champion is not None:
        return Bootstrap(champion.version, created=False)
    data_sha256 = lineage_hash([base.ref])
    existing = registry.find_version(BASE, data_sha256)
    if existing is not None:  # trained before a crash, never promoted
        registry.promote(str(existing.version), expected_champion=None)
        return Bootstrap(str(existing.version), created=True)
    holdout_split = split_month(clean, holdout_fraction=0.2, seed=settings.seed, month=BASE)
    plan = settings.drift_plan()
    trained = train_parts(
        [TrainingPart(BASE, holdout_split.train, 0.0)],
        settings.xgb,
        dataclasses.replace(plan, correction_rounds=0),
        seed=settings.seed,
    )
    y = holdout_split.holdout[TARGET_COLUMN].to_numpy()
    holdout_metrics = metrics_at(
        y, predict_proba(trained.booster, feature_matrix(holdout_split.holdout)), trained.threshold
    )
    version, _ = _log_and_register(
        registry,
        settings,
        trained,
        month=BASE,
        data_sha256=data_sha256,
        lineage=[base.ref],
        run_name="bootstrap-base",
        role="bootstrap",
        metrics={f"holdout_{k}": v for k, v in holdout_metrics.items()},
    )
    registry.promote(version, expected_champion=None)
    registry.set_tags(
        version,
        {
            "holdout_f1": f"{holdout_metrics['f1']:.4f}",
            "holdout_pr_auc": f"{holdout_metrics['pr_auc']:.4f}",
            "holdout_roc_auc": f"{holdout_metrics['roc_auc']:.4f}",
            "holdout_fraud_rate": f"{float(np.mean(y)):.6f}",
            "decision_reason": "first champion",
            "decision": "promoted",
        },
    )
    return Bootstrap(version, created=True, metrics=holdout_metrics)
