"""What leaving an input out costs and changes: one recipe trained with all 54 features and
without the ones named, on the same synthetic rows, both scored on the same fresh rows.

    .venv/bin/python bench/excluded_inputs.py [--exclude CODE_GENDER] [--rows 60000] [--fresh 50000]

Trains the base history's recipe (history stage, the positives weighted, the threshold cut on a
validation slice) twice with the same seed; scores both on ``--fresh`` new applications of the
next month; prints PR-AUC and ROC-AUC against the drawn labels and against the generator's true
p(fraud), and per sex (``CODE_GENDER``: 0 female, 1 male) the share flagged and the
false-positive rate at each model's own threshold (fairlearn, as the gate measures them).
The generator's true log-odds of fraud are 0.3 higher for men. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from fraud_detection.config import Settings
from fraud_detection.core.evaluation import predict_proba
from fraud_detection.core.features import feature_matrix, validate_frame
from fraud_detection.core.groups import group_figures, poisson_weights
from fraud_detection.core.model_inputs import inputs_in_words, used_features
from fraud_detection.core.training import TrainedModel, train
from fraud_detection.sources.synthetic import TRUTH_COLUMN, generate

SEED = 1237


def _fit(rows: int, excluded: tuple[str, ...]) -> tuple[TrainedModel, float]:
    frame, _ = generate(rows, month_index=0, seed=SEED)
    settings = Settings()
    started = time.perf_counter()
    trained = train(
        validate_frame(frame),
        settings.xgb,
        train_positive_rate=settings.train_positive_rate,
        validation_fraction=settings.validation_fraction,
        seed=SEED,
        excluded_inputs=excluded,
    )
    return trained, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exclude", default="CODE_GENDER", help="comma-separated contract names")
    parser.add_argument("--rows", type=int, default=60_000, help="training rows (base history)")
    parser.add_argument("--fresh", type=int, default=50_000, help="fresh rows scored")
    args = parser.parse_args()
    excluded = tuple(name.strip() for name in args.exclude.split(",") if name.strip())

    fresh, truth = generate(args.fresh, month_index=1, seed=SEED + 1, id_start=90_000_000)
    clean = validate_frame(fresh)
    matrix, y = feature_matrix(clean), clean["TARGET"].to_numpy()
    p_true = truth[TRUTH_COLUMN].to_numpy()
    sex = np.where(clean["CODE_GENDER"].to_numpy() == 1, "male", "female")
    weights = poisson_weights(len(y), 200, SEED)
    print(f"train {args.rows:,} rows (month 0), score {args.fresh:,} fresh rows (month 1)")
    print(
        "model | inputs | fit s | PR-AUC | ROC-AUC | corr. with true p | threshold | "
        "share flagged F / M | FPR F / M"
    )
    for name, leaving in (("all inputs", ()), ("without", excluded)):
        trained, seconds = _fit(args.rows, leaving)
        p = predict_proba(trained.booster, matrix)
        flagged = p >= trained.threshold
        innocent = (1 - p_true) * flagged  # expected innocent flagged, from the true p(fraud)
        fpr_true = {
            s: float(innocent[sex == s].sum() / (1 - p_true[sex == s]).sum())
            for s in ("female", "male")
        }
        figures = group_figures("sex", sex, y, flagged, weights)
        share = {lv.level: lv.figures["selection_rate"] for lv in figures.levels}
        fpr = {lv.level: lv.figures["false_positive_rate"] for lv in figures.levels}
        print(
            f"{name} | {inputs_in_words(used_features(trained.booster))} | {seconds:.1f} | "
            f"{average_precision_score(y, p):.4f} | {roc_auc_score(y, p):.4f} | "
            f"{np.corrcoef(p, p_true)[0, 1]:.4f} | {trained.threshold:.3f} | "
            f"{share['female']:.4f} / {share['male']:.4f} | "
            f"{fpr['female']:.4f} / {fpr['male']:.4f} "
            f"(true {fpr_true['female']:.4f} / {fpr_true['male']:.4f})"
        )


if __name__ == "__main__":
    main()
