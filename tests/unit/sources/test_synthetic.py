from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from fraud_detection.config import Settings
from fraud_detection.core.contract import MAX_DAYS, NOT_EMPLOYED
from fraud_detection.core.evaluation import predict_proba
from fraud_detection.core.features import ONE_HOT_GROUPS, feature_matrix, validate_frame
from fraud_detection.core.training import train
from fraud_detection.sources.schedules import RATE_SCHEDULES
from fraud_detection.sources.synthetic import generate, generate_lake_partitions


def test_same_seed_same_data() -> None:
    one, truth_one = generate(500, month_index=3, seed=9)
    two, truth_two = generate(500, month_index=3, seed=9)
    assert one.equals(two) and truth_one.equals(truth_two)
    assert not one.equals(generate(500, month_index=3, seed=10)[0])


def test_partitions_follow_the_contract_with_about_8_percent_fraud() -> None:
    parts = list(generate_lake_partitions(months=12, rows_per_month=3_000, base_rows=3_000, seed=2))
    ids = np.concatenate([p.frame["SK_ID_CURR"].to_numpy() for p in parts])
    assert len(np.unique(ids)) == len(ids)
    for part in parts:
        clean = validate_frame(part.frame)  # every contract rule holds
        assert 0.06 <= clean["TARGET"].mean() <= 0.10, part.name
        for columns in ONE_HOT_GROUPS.values():
            assert clean[list(columns)].sum(axis=1).max() <= 1
        assert (part.truth["SK_ID_CURR"] == part.frame["SK_ID_CURR"]).all()
        assert "P_FRAUD" not in part.frame.columns


def test_the_rate_drift_schedule_moves_the_fraud_rate_within_the_alarms_factor() -> None:
    planned = RATE_SCHEDULES["rate_drift"]
    parts = list(
        generate_lake_partitions(
            months=12, rows_per_month=2_000, base_rows=2_000, schedule="rate_drift", seed=1237
        )
    )
    for index, part in enumerate(parts):
        rate = planned[max(m for m in planned if m <= index)]
        assert part.truth["P_FRAUD"].mean() == pytest.approx(rate, rel=1e-3), part.name
    steps = [max(a / b, b / a) for a, b in itertools.pairwise(planned.values())]
    assert max(steps) < Settings().alarm_rate_factor
    # Schedules without a rate plan keep the natural rate every month.
    default = generate(2_000, month_index=5, seed=3)[1]["P_FRAUD"].mean()
    assert default == pytest.approx(0.08, rel=1e-3)


def test_months_drift() -> None:
    first, _ = generate(20_000, month_index=1, seed=4)
    last, _ = generate(20_000, month_index=12, seed=4)
    assert last["AMT_CREDIT"].mean() > first["AMT_CREDIT"].mean() * 1.08
    assert (last["AMT_CREDIT"] / last["AMT_INCOME_TOTAL"]).mean() > (
        first["AMT_CREDIT"] / first["AMT_INCOME_TOTAL"]
    ).mean()
    # the fraud pattern changes: recently registered revolving-credit applicants turn risky in month 5
    calm, calm_truth = generate(20_000, month_index=2, seed=4)
    ring, ring_truth = generate(20_000, month_index=5, seed=4)

    def segment(f: pd.DataFrame) -> np.ndarray:
        return (
            (f["DAYS_REGISTRATION"] > -1.5 * 365.25) & (f["NAME_CONTRACT_TYPE"] == 1)
        ).to_numpy()

    assert (
        ring_truth["P_FRAUD"][segment(ring)].mean()
        > 3 * calm_truth["P_FRAUD"][segment(calm)].mean()
    )


def test_a_model_trained_on_it_is_realistic_and_close_to_the_oracle() -> None:
    # Given a history the size of the original's (215k rows) and a month without a regime change
    base, _ = generate(200_000, month_index=0, seed=21)
    month, truth = generate(40_000, month_index=2, seed=21, id_start=10_000_000)
    model = train(
        validate_frame(base),
        Settings().xgb,
        train_positive_rate=0.25,
        validation_fraction=0.2,
        seed=1,
    )
    p = predict_proba(model.booster, feature_matrix(validate_frame(month)))
    roc_auc = roc_auc_score(month["TARGET"], p)
    pr_auc, oracle = (
        average_precision_score(month["TARGET"], p),
        average_precision_score(month["TARGET"], truth["P_FRAUD"]),
    )
    assert 0.70 <= roc_auc <= 0.85, roc_auc  # like the real problem, not near 1.0
    assert pr_auc >= 0.9 * oracle, (pr_auc, oracle)


@pytest.mark.parametrize("index", [0, 5, 10])
def test_true_probabilities_are_probabilities(index: int) -> None:
    frame, truth = generate(2_000, month_index=index, seed=1)
    assert truth["P_FRAUD"].between(0, 1).all()
    assert abs(truth["P_FRAUD"].mean() - frame["TARGET"].mean()) < 0.02


def test_retirees_are_recorded_not_employed_at_the_public_datas_share() -> None:
    # The public data: 18.0 % of applicants carry DAYS_EMPLOYED = 365243 (nearly all pensioners)
    frame, _ = generate(50_000, month_index=3, seed=5)
    not_employed = (frame["DAYS_EMPLOYED"] == NOT_EMPLOYED.value).to_numpy()
    retired = (frame["NAME_INCOME_TYPE_Retired"] == 1).to_numpy()
    assert 0.16 <= not_employed.mean() <= 0.20, not_employed.mean()
    assert (not_employed == retired).all()
    assert (frame.loc[retired, "FLAG_EMP_PHONE"] == 0).all()  # as in the public data
    employed = frame.loc[~not_employed, "DAYS_EMPLOYED"]
    assert employed.between(-MAX_DAYS, 0).all() and employed.lt(0).mean() > 0.99
