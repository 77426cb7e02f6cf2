from __future__ import annotations

from pathlib import Path

import pytest

from fraud_detection.config import Settings, settings_problem
from fraud_detection.core.redact import redact_text, redact_uri

SECRET = "s3cr3t-VALUE-42"


def test_embedded_defaults(settings: Settings, tmp_path: Path) -> None:
    assert settings.tracking_uri == f"sqlite:///{(tmp_path / 'data' / 'mlflow.db').resolve()}"
    assert settings.lake == str((tmp_path / "data" / "lake").resolve())
    assert (settings.model_name, settings.champion_alias, settings.challenger_alias) == (
        "fraud-detector",
        "champion",
        "challenger",
    )
    xgb = settings.xgb
    assert (
        xgb.learning_rate,
        xgb.max_depth,
        xgb.min_child_weight,
        xgb.subsample,
        xgb.colsample_bytree,
    ) == (0.1, 7, 25, 0.9, 0.6)
    assert settings.train_positive_rate == 0.25
    assert settings.storage_options() == {}


def test_environment_overrides_including_nested_xgboost_params(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUD_XGB__MAX_DEPTH", "4")
    monkeypatch.setenv("FRAUD_LAKE_URI", "s3://bucket/lake")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:8333")
    overridden = Settings()
    assert overridden.xgb.max_depth == 4 and overridden.xgb.learning_rate == 0.1
    assert overridden.lake == "s3://bucket/lake" and overridden.tracking_uri == "http://mlflow:5000"
    assert overridden.artifact_location is None  # the tracking server decides
    assert overridden.storage_options()["endpoint_url"] == "http://127.0.0.1:8333"


def test_dotenv_file_is_read(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("FRAUD_PROMOTION_MARGIN=0.05\nFRAUD_MODEL_NAME=other\n")
    monkeypatch.chdir(tmp_path)
    assert (Settings().promotion_margin, Settings().model_name) == (0.05, "other")


def test_secrets_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKID")
    monkeypatch.setenv("FRAUD_API_KEY", SECRET)
    monkeypatch.setenv("FRAUD_LAKE_URI", "s3://bucket/lake")
    loaded = Settings()
    for text in (repr(loaded), str(loaded), loaded.model_dump_json(), str(loaded.public_params())):
        assert SECRET not in text
    assert loaded.storage_options()["secret"] == SECRET  # handed to s3fs, nowhere else


def test_redaction_of_uris_and_known_secrets() -> None:
    assert (
        redact_uri("postgresql+psycopg2://mlflow:pw123@db:5432/mlflow")
        == "postgresql+psycopg2://mlflow:***@db:5432/mlflow"
    )
    assert redact_text(f"failed with {SECRET}", [SECRET]) == "failed with ***"


def test_risk_bands_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="risk_low"):
        Settings(risk_low=0.6, risk_high=0.4)


def test_captured_scores_are_kept_six_months_by_default(settings: Settings) -> None:
    # the EU AI Act (Art. 12, 19, 26(6)): a high-risk system's logs kept at least six months
    assert settings.capture_retention_days >= 183
    description = Settings.model_fields["capture_retention_days"].description or ""
    assert "AI Act" in description and "six months" in description


def test_settings_problem_names_the_variable_in_one_line_without_its_value(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings_problem() is None
    monkeypatch.setenv("FRAUD_API_KEY", "  ")
    assert settings_problem() == (
        "FRAUD_API_KEY is set but blank; set it to the key clients must send, "
        "or unset it to leave /predict open"
    )
    monkeypatch.delenv("FRAUD_API_KEY")
    monkeypatch.setenv("FRAUD_REFRESH_INTERVAL_S", "-1")
    monkeypatch.setenv("FRAUD_XGB__MAX_DEPTH", SECRET)
    problem = settings_problem() or ""
    assert "\n" not in problem and SECRET not in problem
    assert "FRAUD_REFRESH_INTERVAL_S: Input should be greater than 0" in problem
    assert "FRAUD_XGB__MAX_DEPTH: Input should be a valid integer" in problem


def test_excluded_inputs_are_read_as_contract_names_and_reach_the_training_plan(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings.excluded_inputs == [] and settings.training_plan().excluded_inputs == ()
    monkeypatch.setenv("FRAUD_EXCLUDED_INPUTS", "CODE_GENDER, DAYS_BIRTH")
    assert Settings().training_plan().excluded_inputs == ("CODE_GENDER", "DAYS_BIRTH")
    monkeypatch.setenv("FRAUD_EXCLUDED_INPUTS", '["CODE_GENDER", "CODE_GENDER"]')
    assert Settings().excluded_inputs == ["CODE_GENDER"]
    # The original's underscore spelling of a one-hot level names the same column.
    monkeypatch.setenv("FRAUD_EXCLUDED_INPUTS", "NAME_FAMILY_STATUS_Single_not_married")
    assert Settings().excluded_inputs == ["NAME_FAMILY_STATUS_Single / not married"]


def test_an_excluded_input_outside_the_contract_is_refused_by_name(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUD_EXCLUDED_INPUTS", "CODE_GENDER,GENDER")
    problem = settings_problem()
    assert problem == (
        "FRAUD_EXCLUDED_INPUTS: not columns of the feature contract (docs/contract.md): GENDER"
    )
