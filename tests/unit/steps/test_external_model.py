from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.model_files import ModelFileError, load_model_file
from fraud_detection.adapters.registry import Registry, StaleChampionError
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from fraud_detection.core.features import FEATURES
from fraud_detection.core.tags import Role
from fraud_detection.core.training import TrainedModel
from fraud_detection.steps.external_model import bootstrap_from_file, register_model_file
from tests.support.fakes import InMemoryLake
from tests.support.models import train_small
from tests.support.month_steps import bootstrapped


def _registering_then_waiting(registry: Registry, barrier: Any) -> Registry:
    """The registry, whose ``register_version`` waits for the other run's before it returns:
    both runs have looked for a champion (and seen none) before either promotes."""
    register = registry.register_version

    def register_then_wait(*args: object, **kwargs: object) -> str:
        version = register(*args, **kwargs)  # type: ignore[arg-type]
        barrier.wait(timeout=600)
        return version

    registry.register_version = register_then_wait  # type: ignore[method-assign]
    return registry


def _bootstrap_run(settings: Settings, path: Path, barrier: Any, outcomes: Any) -> None:
    """One bootstrap run in a process of its own, as two operators' runs would be (MLflow's
    fluent run state is per process: two runs in threads of one process would share it)."""
    registry = _registering_then_waiting(open_registry(settings), barrier)
    try:
        result = bootstrap_from_file(registry, Lake.from_settings(settings), settings, path, 0.3)
        outcomes.put(f"created {result.version}" if result.created else "already set")
    except StaleChampionError:
        outcomes.put("refused")


def test_two_bootstraps_from_a_model_file_at_once_make_one_champion_and_refuse_the_other(
    settings: Settings, trained: TrainedModel, tmp_path: Path
) -> None:
    # Given a model file and two bootstrap runs at once, each in its own process
    path = tmp_path / "elsewhere.ubj"
    trained.booster.save_model(str(path))
    open_registry(settings).experiment_id()  # the store exists, as a tracking server's does
    context = multiprocessing.get_context("spawn")
    barrier, outcomes = context.Barrier(2), context.Queue()
    runs = [
        context.Process(target=_bootstrap_run, args=(settings, path, barrier, outcomes))
        for _ in range(2)
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=900)
    assert [run.exitcode for run in runs] == [0, 0]
    found = sorted(outcomes.get(timeout=10) for _ in runs)
    # Then one run created the champion and the other was refused, not silently replacing it
    assert [o.split()[0] for o in found] == ["created", "refused"], found
    winner = found[0].split()[1]
    champion = open_registry(settings).champion()
    assert champion is not None and champion.version == winner
    assert not champion.tags.promoted_from  # nothing replaced


def test_a_bootstrap_after_the_champion_exists_registers_nothing(
    settings: Settings, trained: TrainedModel, tmp_path: Path
) -> None:
    path = tmp_path / "elsewhere.ubj"
    trained.booster.save_model(str(path))
    lake = Lake.from_settings(settings)
    first = bootstrap_from_file(open_registry(settings), lake, settings, path, 0.3)
    again = bootstrap_from_file(open_registry(settings), lake, settings, path, 0.3)
    assert first.created and not again.created and again.version == first.version
    assert len(open_registry(settings).versions()) == 1


def test_a_model_file_is_registered_with_its_threshold_and_alias(
    lake: InMemoryLake, tmp_path: Path
) -> None:
    registry = bootstrapped(lake)
    path = tmp_path / "model.ubj"
    registry.load_booster("1").save_model(str(path))
    version = register_model_file(
        registry, path, threshold=0.3, alias="candidate", champion_alias="champion"
    )
    tags = registry.version(version).tags
    assert (tags.month, tags.role, tags.threshold, tags.source_file) == (
        "external",
        Role.EXTERNAL,
        0.3,
        "model.ubj",
    )
    assert registry.aliases["candidate"] == version and registry.aliases["champion"] == "1"


def test_a_model_file_without_an_input_is_registered_with_what_it_leaves_out(
    lake: InMemoryLake, tmp_path: Path
) -> None:
    registry = bootstrapped(lake)
    path = tmp_path / "without-gender.ubj"
    train_small(seed=3, month_index=0, excluded_inputs=("CODE_GENDER",)).booster.save_model(
        str(path)
    )
    version = register_model_file(registry, path, threshold=0.3, alias=None, champion_alias="c")
    loaded = registry.load_booster(version)
    assert loaded.feature_names is not None and "CODE_GENDER" not in loaded.feature_names
    run_id = registry.version(version).run_id
    assert run_id is not None and registry.runs[run_id].params["inputs_left_out"] == "CODE_GENDER"


def test_a_model_file_whose_features_are_out_of_contract_order_is_refused(
    trained: TrainedModel, tmp_path: Path
) -> None:
    booster = trained.booster.copy()
    names = list(FEATURES)
    names[0], names[1] = names[1], names[0]
    booster.feature_names = names
    path = tmp_path / "swapped.ubj"
    booster.save_model(str(path))
    with pytest.raises(ModelFileError, match=f"feature 0 is named '{FEATURES[1]}'"):
        load_model_file(path)
    booster.feature_names = ["GENDER", *FEATURES[1:]]
    booster.save_model(str(path))
    with pytest.raises(ModelFileError, match="features the contract has not: GENDER"):
        load_model_file(path)
