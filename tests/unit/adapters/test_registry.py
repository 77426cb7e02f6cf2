from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from fraud_detection.adapters.model_files import ModelFileError
from fraud_detection.adapters.registry import (
    Registry,
    RegistryError,
    StaleChampionError,
)
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from fraud_detection.core.features import FEATURES
from fraud_detection.core.lineage import RunRecord
from fraud_detection.core.tags import Role, Verdict, VersionTags
from fraud_detection.core.training import TrainedModel
from fraud_detection.steps.external_model import register_model_file
from tests.support.models import register_small


def test_versions_carry_tags_and_load_back_in_xgboost_format(
    settings: Settings, trained: TrainedModel
) -> None:
    registry = open_registry(settings)
    assert registry.champion() is None and registry.versions() == []
    version = register_small(registry, trained, "2025-01", data_sha256="abc", role="challenger")
    assert registry.find_version("2025-01", "abc", Role.CHALLENGER).version == version
    assert registry.find_version("2025-01", "other", Role.CHALLENGER) is None
    assert registry.find_version("2025-01", "abc", Role.REFIT) is None
    booster = registry.load_booster(version)
    matrix = np.random.default_rng(0).random((5, 54)).astype(np.float32)
    np.testing.assert_array_equal(
        booster.inplace_predict(matrix), trained.booster.inplace_predict(matrix)
    )
    artifacts = [a.path for a in registry.client.list_artifacts(registry.version(version).run_id)]
    assert "lineage.json" in artifacts


def test_logging_a_model_leaves_no_store_behind_for_later_settings(
    settings: Settings, trained: TrainedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MLflow's fluent API exports its URI to MLFLOW_TRACKING_URI, which Settings also reads
    version = register_small(open_registry(settings), trained, "2025-01")
    open_registry(settings).load_booster(version)
    assert "MLFLOW_TRACKING_URI" not in os.environ
    assert "MLFLOW_REGISTRY_URI" not in os.environ
    monkeypatch.setenv("FRAUD_DATA_DIR", str(tmp_path / "elsewhere"))
    other = open_registry(Settings())
    assert other.settings.tracking_uri != settings.tracking_uri
    assert other.versions() == [] and other.champion() is None


def test_promotion_is_compare_and_set(settings: Settings, trained: TrainedModel) -> None:
    registry = open_registry(settings)
    v1, v2, v3 = (register_small(registry, trained, m) for m in ("2025-01", "2025-02", "2025-03"))
    registry.promote(v1, expected_champion=None)
    assert registry.champion().version == v1
    # While v3 was being evaluated against v1, someone moved the champion to v2
    registry.promote(v2, expected_champion=v1)
    with pytest.raises(StaleChampionError, match=f"champion is version {v2}, not {v1}"):
        registry.promote(v3, expected_champion=v1)
    assert registry.champion().version == v2


def test_rollback_returns_to_the_previous_champion(
    settings: Settings, trained: TrainedModel
) -> None:
    registry = open_registry(settings)
    v1, v2 = (
        register_small(registry, trained, "2025-01"),
        register_small(registry, trained, "2025-02"),
    )
    registry.promote(v1, expected_champion=None)
    with pytest.raises(RegistryError, match="no previous champion"):
        registry.rollback()
    registry.promote(v2, expected_champion=v1)
    assert registry.rollback() == v1 and registry.champion().version == v1


def test_promotions_need_a_lock(settings: Settings, trained: TrainedModel) -> None:
    registry = Registry(settings)  # opened without one, e.g. by the service
    version = register_small(registry, trained, "2025-01")
    with pytest.raises(RegistryError, match="promotions need a lock"):
        registry.promote(version, expected_champion=None)
    assert registry.champion() is None


def test_decided_months(settings: Settings, trained: TrainedModel) -> None:
    registry = open_registry(settings)
    v1 = register_small(registry, trained, "2025-01")
    register_small(registry, trained, "2025-02")
    registry.set_tags(v1, VersionTags(decision=Verdict.REJECTED))
    assert registry.decided_months() == {"2025-01"}


@pytest.mark.parametrize("suffix", [".ubj", ".json"])
def test_an_xgboost_file_from_elsewhere_is_registered(
    settings: Settings, trained: TrainedModel, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"model{suffix}"
    trained.booster.save_model(str(path))
    version = register_model_file(
        open_registry(settings), path, threshold=0.3, alias="champion", champion_alias="champion"
    )
    champion = open_registry(settings).champion()
    assert champion.version == version and champion.tags.threshold == 0.3


def test_a_wrong_feature_count_is_rejected(settings: Settings, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    small = xgb.XGBClassifier(n_estimators=3).fit(rng.random((50, 10)), rng.integers(0, 2, 50))
    path = tmp_path / "small.ubj"
    small.get_booster().save_model(str(path))
    with pytest.raises(ModelFileError, match="expects 10 features; the contract has 54"):
        register_model_file(
            open_registry(settings), path, threshold=0.3, alias=None, champion_alias="champion"
        )
    assert open_registry(settings).versions() == []


def test_wrong_feature_names_are_rejected(
    settings: Settings, trained: TrainedModel, tmp_path: Path
) -> None:
    booster = trained.booster.copy()
    booster.feature_names = [f"f{i}" for i in range(len(FEATURES))]
    booster.save_model(str(tmp_path / "renamed.json"))
    with pytest.raises(ModelFileError, match="features the contract has not: f0, f1"):
        register_model_file(
            open_registry(settings),
            tmp_path / "renamed.json",
            threshold=0.3,
            alias=None,
            champion_alias="champion",
        )


class _Exploding:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (pytest.fail, ("a pickle was loaded",))


@pytest.mark.parametrize("name", ["model.pkl", "model.json", "model.ubj"])
def test_pickles_are_refused_without_being_loaded(
    settings: Settings, tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(pickle.dumps(_Exploding()))
    with pytest.raises(ModelFileError, match=r"\.json or \.ubj|pickles are never loaded"):
        register_model_file(
            open_registry(settings), path, threshold=0.3, alias=None, champion_alias="champion"
        )


def test_promotions_are_serial_whoever_starts_them(
    settings: Settings, trained: TrainedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    import time

    registry = open_registry(settings)
    first, second, third = (register_small(registry, trained, m) for m in ("a", "b", "c"))
    registry.promote(first, expected_champion=None)
    # Given two promotions that both saw ``first`` as champion, and a slow alias write
    set_alias = registry.client.set_registered_model_alias

    def slow(*args: object) -> None:
        time.sleep(0.3)  # wide open for an interleaving check-then-set
        set_alias(*args)

    monkeypatch.setattr(registry.client, "set_registered_model_alias", slow)
    other = open_registry(settings)  # e.g. `fraud-detection promote` in another process
    outcomes: list[str] = []

    def attempt(reg: Registry, version: str) -> None:
        try:
            reg.promote(version, expected_champion=first)
            outcomes.append("promoted")
        except StaleChampionError:
            outcomes.append("stale")

    threads = [
        threading.Thread(target=attempt, args=(registry, second)),
        threading.Thread(target=attempt, args=(other, third)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then exactly one of them moved the champion; the other was refused, not interleaved
    assert sorted(outcomes) == ["promoted", "stale"]
    assert registry.champion().version in (second, third)
    assert registry.champion().tags.promoted_from == first


def test_a_version_without_a_threshold_tag_is_served_at_the_configured_default(
    settings: Settings, trained: TrainedModel
) -> None:
    registry = open_registry(settings)
    run_id, uri = registry.log_model_run(trained.booster, RunRecord("x"))
    version = registry.register_version(uri, run_id, VersionTags(month="x"))  # no threshold
    registry.promote(version, expected_champion=None)
    champion = registry.champion()
    assert champion is not None and champion.tags.threshold is None
    assert champion.tags.threshold_or(settings.default_threshold) == 0.25


def test_bootstrap_from_a_file_uses_the_configured_champion_alias(
    settings: Settings, trained: TrainedModel, tmp_path: Path
) -> None:
    from flows.bootstrap import register_file

    path = tmp_path / "model.ubj"
    trained.booster.save_model(str(path))
    renamed = settings.model_copy(update={"champion_alias": "production"})
    register_file.fn(renamed, str(path), 0.3)
    registry = open_registry(renamed)
    assert registry.alias("production") is not None and registry.alias("champion") is None
    assert registry.champion().tags.threshold == 0.3
