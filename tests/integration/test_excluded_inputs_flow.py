"""FRAUD_EXCLUDED_INPUTS set between the bootstrap and a monthly run, under a temporary Prefect
API: the challenger is trained without CODE_GENDER, the champion trained on all 54 features is
still judged on all 54, each model on its own columns of the same holdout, and the run, the
report and the model card say what is left out."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import mlflow
import pytest
import xgboost as xgb
from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
)
from sklearn.metrics import average_precision_score

from flows.bootstrap import bootstrap
from flows.retrain import monthly_retrain
from fraud_detection.adapters.decision_log import CARD_ARTIFACT, DecisionLog
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from fraud_detection.core.contract import TARGET_COLUMN
from fraud_detection.core.features import FEATURES, feature_matrix
from fraud_detection.sources.synthetic import generate
from fraud_detection.steps import intake
from fraud_detection.steps.model_card import build_card
from tests.support.flows import use_data_dir

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_harness")]
GENDER = "CODE_GENDER"
WITHOUT_GENDER = [name for name in FEATURES if name != GENDER]
# The fraud ring's month after a history without it (as test_retrain_flow): a challenger that
# learns something new, judged on a holdout of 3,000 rows.
BASE_ROWS, MONTH_ROWS, MONTH = 4_000, 6_000, "2025-05"
INPUTS_LINE = (
    "- Inputs: challenger: 53 of 54 features, leaving out `CODE_GENDER` · champion: all 54 features"
)


def _flavor_booster(settings: Settings, version: str) -> xgb.Booster:
    """A registered version as MLflow's xgboost flavor loads it (not the project's loader)."""
    with open_registry(settings).fluent_store():  # the project's store, put back after
        booster = mlflow.xgboost.load_model(f"models:/{settings.model_name}/{version}")
    assert isinstance(booster, xgb.Booster), type(booster)
    return booster


def _report_artifact(flow_run_id: UUID) -> str:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
                key=ArtifactFilterKey(any_=["retrain-report"]),
            )
        )
    assert len(found) == 1, found
    return str(found[0].data)


def _judged_on_own_columns(
    settings: Settings,
    lake: Lake,
    metrics: dict[str, float],
    champion: xgb.Booster,
    challenger: xgb.Booster,
) -> None:
    """The holdout metrics on the challenger's run are those of its 53 columns, cut by name
    from the month's holdout as read back from the lake, and of the champion's 54."""
    clean = intake.validate(intake.fetch(lake, MONTH))
    holdout = intake.split(settings, MONTH, clean).holdout
    y = holdout[TARGET_COLUMN].to_numpy()
    full = feature_matrix(holdout)
    narrow = full[:, [FEATURES.index(name) for name in WITHOUT_GENDER]]
    assert metrics["holdout_rows"] == len(holdout) == MONTH_ROWS // 2
    assert metrics["holdout_pr_auc"] == pytest.approx(
        average_precision_score(y, challenger.inplace_predict(narrow)), abs=1e-9
    )
    assert metrics["champion_holdout_pr_auc"] == pytest.approx(
        average_precision_score(y, champion.inplace_predict(full)), abs=1e-9
    )
    assert metrics["pr_auc_diff_difference"] == pytest.approx(
        metrics["holdout_pr_auc"] - metrics["champion_holdout_pr_auc"], abs=1e-9
    )


def _cards_name_what_is_left_out(settings: Settings, champion_run: str, held: str) -> None:
    log = DecisionLog(settings)
    published = log.run_text(champion_run, CARD_ARTIFACT)
    assert published is not None
    kept = published.split("## Inputs\n")[1].split("\n## ")[0]
    assert "All 54 features" in kept and GENDER not in kept, kept
    card = build_card(open_registry(settings), log, settings, held)
    assert card.facts["inputs_left_out"] == [GENDER]
    inputs = card.sections["Inputs"]
    assert inputs.startswith("53 of the 54 features") and f"`{GENDER}`" in inputs, inputs


def test_a_monthly_run_without_code_gender_judges_an_all_inputs_champion_on_its_own_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a champion bootstrapped on all 54 features, the setting not yet given
    monkeypatch.delenv("FRAUD_EXCLUDED_INPUTS", raising=False)
    settings = use_data_dir(monkeypatch, tmp_path / "data")
    lake = Lake.from_settings(settings)
    lake.write("base", *generate(BASE_ROWS, month_index=0, seed=settings.seed))
    lake.write(MONTH, *generate(MONTH_ROWS, month_index=5, seed=2, id_start=50_000_000))
    bootstrap()
    registry = open_registry(settings)
    first = registry.champion()
    assert first is not None
    champion = _flavor_booster(settings, first.version)
    assert champion.num_features() == len(FEATURES) == 54
    assert GENDER in (champion.feature_names or FEATURES)

    # When CODE_GENDER is left out from the next monthly run on
    monkeypatch.setenv("FRAUD_EXCLUDED_INPUTS", GENDER)
    state = monthly_retrain(month=MONTH, return_state=True)

    # Then the month is decided against that champion: the gate alone would promote, but the
    # groups are still measured on CODE_GENDER, and without it the challenger scores women as
    # likelier fraud than the champion that saw it did (the generator's men are riskier): held
    assert state.is_completed(), state.message
    result = state.result()
    assert result["status"] == "held" and result["champion_version"] == first.version, result
    judged = registry.version(result["challenger_version"])
    reason = judged.tags.decision_reason or ""
    assert judged.tags.decision == "held" and "so the challenger is promoted" in reason, reason
    assert "sex = female" in reason and "FRAUD_GROUP_LOG_ODDS_TOLERANCE" in reason, reason
    # and the registered challenger, loaded through MLflow's xgboost flavor, never had the input
    challenger = _flavor_booster(settings, judged.version)
    assert challenger.num_features() == 53
    assert challenger.feature_names == WITHOUT_GENDER
    # and its run records it, the champion's run that it left nothing out
    assert judged.run_id is not None and first.run_id is not None
    run = registry.client.get_run(judged.run_id).data
    assert run.params["inputs_used"] == "53" and run.params["inputs_left_out"] == GENDER
    champion_params = registry.client.get_run(first.run_id).data.params
    assert champion_params["inputs_used"] == "54"
    assert champion_params["inputs_left_out"] == "none"

    # and each model was judged on its own columns of the same holdout rows
    _judged_on_own_columns(settings, lake, run.metrics, champion, challenger)

    # and the report, read back from the Prefect API and from the run, names what is left out
    report = _report_artifact(state.state_details.flow_run_id)
    assert INPUTS_LINE in report.splitlines(), report
    logged = registry.client.download_artifacts(judged.run_id, "report.md", str(tmp_path))
    assert Path(logged).read_text() == report

    # and the published card of the kept champion says it leaves nothing out, while
    # the held challenger's card (built from its run, as `fraud-detection card` shows it) lists
    # CODE_GENDER as left out
    _cards_name_what_is_left_out(settings, first.run_id, judged.version)
