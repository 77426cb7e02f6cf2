"""Judgement over a synthetic year, measured against the generator's true p(fraud).

    .venv/bin/python bench/decisions.py [--schedule default] [--corrupt 6:shuffle] [--fresh 50000]

Runs the real flows (bootstrap, then monthly-retrain once per month, under a temporary Prefect
API, embedded lake and SQLite MLflow in a temporary folder) and after each month scores, on a
large fresh sample of that month drawn from the generator, with expected counts from the true
p(fraud) (no label noise):

- the champion before the run, the judged challenger and the model served after the run;
- "promote every challenger": what would be served had every month been promoted;
- the oracle (the true p(fraud) itself).

A decision is counted wrong when it promotes a model truly worse than the champion by more than
0.005 PR-AUC, or rejects (or quarantines) one truly better by more than 0.005, where "the model"
is what the promotion would put in front of users (the judged recipe refitted on the whole
month; both gains are printed); a month whose
labels were corrupted on purpose (``--corrupt MONTH:shuffle|invert``) is right only if it is not
promoted. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

TOLERANCE = 0.005  # PR-AUC: smaller true differences count as ties
MATURITY_DAYS = 60  # FRAUD_LABEL_MATURITY_DAYS with --late-labels


@dataclass
class Month:
    name: str
    index: int
    status: str
    true_gain: float
    served_gain: float
    served_ratio: float
    every_ratio: float
    oracle: float
    corrupted: bool
    right: bool


def expected_pr_auc(score: np.ndarray, p_true: np.ndarray) -> float:
    """PR-AUC with every row counted p times as fraud and 1 − p times as not (no label noise)."""
    from sklearn.metrics import average_precision_score

    y = np.r_[np.ones(len(p_true)), np.zeros(len(p_true))]
    return float(
        average_precision_score(y, np.r_[score, score], sample_weight=np.r_[p_true, 1 - p_true])
    )


def half_labelled(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Half the month's frauds not yet confirmed: marked 0, as an early delivery has them."""
    labels = frame["TARGET"].to_numpy().copy()
    frauds = np.flatnonzero(labels == 1)
    unconfirmed = np.random.default_rng(seed).choice(frauds, size=len(frauds) // 2, replace=False)
    labels[unconfirmed] = 0
    return frame.assign(TARGET=labels)


def corrupt(frame, how: str, seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    labels = frame["TARGET"].to_numpy().copy()
    if how == "shuffle":
        labels = rng.permutation(labels)
    elif how == "invert":  # labels flipped for one segment (a region's file mixed up)
        segment = frame["REGION_RATING_CLIENT"].to_numpy() == 3
        labels[segment] = 1 - labels[segment]
    else:
        raise SystemExit(f"unknown corruption {how!r}")
    return frame.assign(TARGET=labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedule", default="default")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--rows-per-month", type=int, default=7_680)
    parser.add_argument("--base-rows", type=int, default=60_000)
    parser.add_argument("--fresh", type=int, default=50_000, help="fresh rows per month")
    parser.add_argument("--corrupt", default="", help="e.g. 6:shuffle or 6:invert")
    parser.add_argument("--seed", type=int, default=1237)
    parser.add_argument(
        "--capacity", type=float, default=None, help="FRAUD_REVIEW_CAPACITY, e.g. 0.05"
    )
    parser.add_argument(
        "--late-labels",
        type=int,
        default=0,
        help="month whose first delivery has half its frauds unlabelled (labels taken 10 days "
        "after its end); re-delivered complete (90 days) after its run, and run again",
    )
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="bench-decisions-")
    os.environ.update(
        {
            "FRAUD_DATA_DIR": f"{workdir}/data",
            "FRAUD_SEED": str(args.seed),
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
            "MLFLOW_LOGGING_LEVEL": "WARNING",
            "PREFECT_HOME": f"{workdir}/prefect",
            "PREFECT_LOGGING_LEVEL": "ERROR",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            **({"FRAUD_REVIEW_CAPACITY": str(args.capacity)} if args.capacity else {}),
            **({"FRAUD_LABEL_MATURITY_DAYS": str(MATURITY_DAYS)} if args.late_labels else {}),
        }
    )
    from prefect.testing.utilities import prefect_test_harness

    from flows.bootstrap import bootstrap
    from flows.retrain import monthly_retrain
    from fraud_detection.adapters.lake import Lake
    from fraud_detection.adapters.partition_files import parquet_bytes
    from fraud_detection.adapters.stores import open_registry
    from fraud_detection.config import Settings
    from fraud_detection.core.contract import NOT_EMPLOYED
    from fraud_detection.core.dataset import stable_seed
    from fraud_detection.core.evaluation import predict_proba
    from fraud_detection.core.features import FEATURES, feature_matrix
    from fraud_detection.core.gate import prior_corrected
    from fraud_detection.core.groups import poisson_weights
    from fraud_detection.core.maturity import month_end
    from fraud_detection.core.score_shift import score_shifts
    from fraud_detection.core.training import JudgedRecipe, TrainingPart, refit_parts
    from fraud_detection.sources.schedules import DRIFT_SCHEDULES, LABEL_BIAS
    from fraud_detection.sources.synthetic import generate, generate_lake_partitions
    from fraud_detection.steps import challengers, intake, pool

    settings = Settings()
    lake, registry = Lake.from_settings(settings), open_registry(settings)
    complete: dict[str, pd.DataFrame] = {}  # the late-labelled month's complete labels
    corrupt_month, corrupt_how = [*args.corrupt.split(":"), ""][:2] if args.corrupt else ("", "")
    names = []
    for part in generate_lake_partitions(
        months=args.months,
        rows_per_month=args.rows_per_month,
        base_rows=args.base_rows,
        seed=args.seed,
        schedule=args.schedule,
    ):
        frame = part.frame
        if part.name != "base" and len(names) + 1 == int(corrupt_month or 0):
            frame = corrupt(frame, corrupt_how, args.seed)
        late = part.name != "base" and len(names) + 1 == args.late_labels
        lake.write(part.name, half_labelled(frame, args.seed) if late else frame, part.truth)
        if late:
            lake.record_labels_as_of(part.name, month_end(part.name) + timedelta(days=10))
            complete[part.name] = frame
        if part.name != "base":
            names.append(part.name)

    def fresh(index: int) -> tuple[np.ndarray, np.ndarray]:
        frame, truth = generate(
            args.fresh, month_index=index, seed=args.seed + 7777, id_start=900_000_000,
            schedule=args.schedule,
        )  # fmt: skip
        return feature_matrix(frame), truth["P_FRAUD"].to_numpy()

    def corrected_mean(version: str | None, name: str) -> tuple[float, float]:
        """The challenger's prior-corrected mean prediction on the month's holdout, and the
        holdout's fraud rate (the gate compares models on such corrected probabilities)."""
        if version is None:
            return float("nan"), float("nan")
        holdout = intake.split(settings, name, intake.validate(intake.fetch(lake, name))).holdout
        rate = float(holdout["TARGET"].mean())
        trained = registry.version(version).tags.trained_positive_rate
        p = predict_proba(registry.load_booster(version), feature_matrix(holdout))
        corrected = prior_corrected(
            p, trained_rate=settings.train_positive_rate if trained is None else trained,
            target_rate=rate,
        )  # fmt: skip
        return float(np.mean(corrected)), rate

    def pensioner_shift(version: str | None, champion: str | None, name: str) -> str:
        """The pensioners' mean log-odds change beyond the rest's, challenger against the
        champion on the month's holdout (what the group check's score test sees)."""
        if version is None or champion is None:
            return "–"
        holdout = intake.split(settings, name, intake.validate(intake.fetch(lake, name))).holdout
        x_hold = feature_matrix(holdout)
        levels = np.where(holdout["DAYS_EMPLOYED"].to_numpy() == NOT_EMPLOYED.value, "p", "o")
        weights = poisson_weights(len(levels), 400, 7)
        found = score_shifts(
            levels,
            predict_proba(registry.load_booster(version), x_hold),
            predict_proba(registry.load_booster(champion), x_hold),
            weights,
        )
        s = next(s for s in found if s.level == "p")
        return f"{s.excess:+.3f} ({s.low:+.3f} … {s.high:+.3f})"

    def pensioner_fpr(version: str | None, x: np.ndarray, p: np.ndarray) -> float:
        """The version's false-positive rate among pensioners, expected from the true p(fraud)."""
        if version is None:
            return float("nan")
        threshold = registry.version(version).tags.threshold_or(settings.default_threshold)
        flagged = predict_proba(registry.load_booster(version), x) >= threshold
        innocent = (1 - p) * (x[:, FEATURES.index("DAYS_EMPLOYED")] == NOT_EMPLOYED.value)
        return float(np.sum(innocent * flagged) / np.sum(innocent))

    def quality(version: str | None, x: np.ndarray, p: np.ndarray) -> float:
        if version is None:
            return float("nan")
        return expected_pr_auc(predict_proba(registry.load_booster(version), x), p)

    def share_flagged_next(version: str | None, index: int) -> float:
        """The share the served model flags on the next month's fresh applications."""
        if version is None:
            return float("nan")
        x_next, _ = fresh(index)
        threshold = registry.version(version).tags.threshold_or(settings.default_threshold)
        return float(np.mean(predict_proba(registry.load_booster(version), x_next) >= threshold))

    flagged: list[float] = []
    immature_right: list[bool] = []
    rows: list[Month] = []
    started = time.perf_counter()
    run_seconds = []
    calibration: list[float] = []  # corrected mean prediction / holdout fraud rate
    with prefect_test_harness(server_startup_timeout=120):
        bootstrap()
        for index, name in enumerate(names, start=1):
            x, p = fresh(index)
            oracle = expected_pr_auc(p, p)
            before = registry.champion()
            t0 = time.perf_counter()
            result = monthly_retrain(month=name)
            run_seconds.append(time.perf_counter() - t0)
            status = result["status"]
            if name in complete:  # held as immature? its complete labels come, judged again
                print(f"{name} {status:11s} (half its frauds unlabelled: right if not promoted: "
                      f"{'right' if status != 'promoted' else 'WRONG'})", flush=True)  # fmt: skip
                immature_right.append(status != "promoted")
                lake.deliver(name, parquet_bytes(complete[name]))
                lake.record_labels_as_of(name, month_end(name) + timedelta(days=90))
                result = monthly_retrain(month=name)
                status = result["status"]
            after = registry.champion()
            challenger = result.get("challenger_version")
            true_gain = quality(challenger, x, p) - quality(
                before.version if before else None, x, p
            )
            # What "promote every challenger" would serve: the same recipe refitted on the month.
            if status == "promoted" and result.get("served_version"):
                every_score = quality(result["served_version"], x, p)
            elif settings.refit_on_promotion:
                data = intake.fetch(lake, name)
                split = intake.split(settings, name, intake.validate(data))
                inputs = pool.gather(
                    lake, registry, data, split, floor=pool.HistoryFloor.of(settings)
                )
                whole = [
                    *inputs.parts[:-1],
                    TrainingPart(name, challengers.whole_month(inputs), 0.0),
                ]
                booster = refit_parts(
                    whole, settings.xgb, settings.training_plan(),
                    seed=stable_seed(settings.seed, name),
                    judged=JudgedRecipe(0.5, 0.25, registry.load_booster(challenger)),
                ).booster  # fmt: skip
                every_score = expected_pr_auc(predict_proba(booster, x), p)
            else:
                every_score = quality(challenger, x, p)
            served = quality(after.version if after else None, x, p)
            bias = LABEL_BIAS.get(args.schedule)
            corrupted = str(index) == corrupt_month or (
                bias is not None and bias.month_index == index
            )
            fpr_before = pensioner_fpr(before.version if before else None, x, p)
            fpr_after = pensioner_fpr(after.version if after else None, x, p)
            # What promoting puts in front of users (the refit, when enabled) against the champion.
            served_gain = every_score - quality(before.version if before else None, x, p)
            if corrupted:
                right = status != "promoted"
            elif status == "promoted":
                right = served_gain >= -TOLERANCE
            else:
                right = served_gain <= TOLERANCE
            mean_corrected, holdout_rate = corrected_mean(challenger, name)
            shift = pensioner_shift(challenger, before.version if before else None, name)
            calibration.append(mean_corrected / holdout_rate)
            if args.capacity:
                served_version = after.version if after else None
                flagged.append(share_flagged_next(served_version, index + 1))
            rows.append(
                Month(name, index, status, true_gain, served_gain, served / oracle,
                      every_score / oracle, oracle, corrupted, right)
            )  # fmt: skip
            print(
                (f"flags {flagged[-1]:.2%} of next month's applications  " if args.capacity else "")
                + f"{name} {status:11s} true gain: judged {true_gain:+.4f}, if served "
                f"{served_gain:+.4f}  served/oracle "
                f"{served / oracle:.3f}  every/oracle {every_score / oracle:.3f}  "
                f"{'right' if right else 'WRONG'}{'  (labels corrupted)' if corrupted else ''}"
                f"  corrected mean {mean_corrected:.4f} vs holdout rate {holdout_rate:.4f}"
                f"  pensioners' FPR served {fpr_before:.3f} -> {fpr_after:.3f}"
                f"  pensioners' log-odds shift {shift}",
                flush=True,
            )

    changes = sorted(m for m in DRIFT_SCHEDULES[args.schedule] if m > 0)
    settled = [r for r in rows if not changes or all(not (c <= r.index < c + 2) for c in changes)]
    served = np.array([r.served_ratio for r in rows])
    every = np.array([r.every_ratio for r in rows])
    print()
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}; schedule "
        f"{args.schedule} (pattern changes at months {changes or 'none'}); "
        f"corrupted: {args.corrupt or 'none'}; fresh rows per month {args.fresh:,}"
    )
    print(f"decisions right: {sum(r.right for r in rows)} of {len(rows)}")
    held = [r.name for r in rows if r.status == "held"]
    print(f"held for review: {len(held)} of {len(rows)} {held or ''}")
    if args.capacity:
        shares = np.array(flagged)
        print(
            f"share flagged on the next month vs capacity {args.capacity:.0%}: "
            + " ".join(f"{v:.1%}" for v in shares)
            + f"; within ±1 point: {int(np.sum(np.abs(shares - args.capacity) <= 0.01))} of "
            f"{len(shares)}"
        )
    if args.late_labels:
        print(f"late-labelled month {args.late_labels} not promoted on its first delivery: "
              f"{all(immature_right)}; decided on its complete delivery (in the rows above)")  # fmt: skip
    print(
        f"served / oracle PR-AUC: mean {served.mean():.3f}, min {served.min():.3f}; "
        f"from the 3rd month of each pattern on: min "
        f"{min(r.served_ratio for r in settled):.3f}"
    )
    print(f"promote every challenger: mean {every.mean():.3f}, min {every.min():.3f}")
    ratio = np.array(calibration)
    print(
        "challenger's corrected mean prediction / holdout fraud rate: mean "
        f"{np.nanmean(ratio):.3f}, worst {ratio[np.nanargmax(np.abs(ratio - 1))]:.3f}"
    )
    print(
        f"monthly run wall time: median {np.median(run_seconds):.1f} s; "
        f"whole benchmark {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
