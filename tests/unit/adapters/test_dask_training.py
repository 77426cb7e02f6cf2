"""Training on a Dask cluster is opt-in: without FRAUD_DASK_ADDRESS nothing of Dask is imported,
the lake's keys the workers are given never show in what Dask displays of a task, and the
cluster trains the recipe without the inputs left out on purpose, as one machine does."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from fraud_detection.adapters.dask_workers import ClusterPart, ClusterPool, StorageOptions
from fraud_detection.config import Settings
from fraud_detection.core.evaluation import predict_proba
from fraud_detection.core.features import FEATURES, feature_matrix, validate_frame
from fraud_detection.sources.synthetic import generate

ROOT = Path(__file__).resolve().parents[3]
SINGLE_MACHINE_RUN = """
import json, sys
from flows.retrain import training_fitter
from fraud_detection.config import Settings
from fraud_detection.core.features import validate_frame
from fraud_detection.core.training import TrainingPart
from fraud_detection.sources.synthetic import generate
from fraud_detection.steps.challengers import FitOrder, LocalFitter
from fraud_detection.steps.pool import TrainingInputs

settings = Settings()
frame = validate_frame(generate(3000, month_index=1, seed=3)[0])
parts = [TrainingPart("base", frame.iloc[:1500], 1.0), TrainingPart("2025-01", frame.iloc[1500:], 0.0)]
with training_fitter(settings) as fitter:
    trained = fitter.fit(
        TrainingInputs("2025-01", parts, frame.iloc[:0], [], ""),
        FitOrder(settings.xgb, settings.training_plan(), seed=1),
    )
loaded = [m for m in sys.modules if m.split(".")[0] in ("dask", "distributed") or m == "xgboost.dask"]
print(json.dumps({"local": isinstance(fitter, LocalFitter), "rows": trained.rows["pool_rows"], "loaded": loaded}))
"""


def test_a_single_machine_fit_through_the_flow_imports_nothing_of_dask() -> None:
    # Given no FRAUD_DASK_ADDRESS
    env = {k: v for k, v in os.environ.items() if k != "FRAUD_DASK_ADDRESS"}
    # When a fresh interpreter imports the retrain flow and fits through the fitter it picks
    result = subprocess.run(
        [sys.executable, "-c", SINGLE_MACHINE_RUN],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # Then it fitted in this process, and no module of Dask (nor xgboost.dask) was loaded
    assert report["local"] is True and report["rows"] == 3000
    assert report["loaded"] == []


def test_the_setting_names_the_scheduler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUD_DASK_ADDRESS", "tcp://scheduler:8786")
    assert Settings().dask_address == "tcp://scheduler:8786"
    monkeypatch.delenv("FRAUD_DASK_ADDRESS")
    assert Settings().dask_address == ""
    assert not any("dask" in key for key in Settings().public_params())


def test_the_lake_keys_given_to_the_workers_never_show() -> None:
    # Given the lake's options with its keys, as tasks carry them to the workers
    options = StorageOptions({"key": "AKIDEXAMPLE", "secret": "s3cr3t-value"})
    # Then neither their repr (the dashboard's, errors', logs') nor their token shows them
    assert "AKIDEXAMPLE" not in repr(options) and "s3cr3t" not in repr(options)
    assert "s3cr3t" not in options.__dask_tokenize__()
    # and a worker still gets them: they survive the trip (pickled) and open the filesystem
    fs, path = pickle.loads(pickle.dumps(StorageOptions({}))).open_fs("memory://lake/base")
    assert path == "/lake/base" and "memory" in fs.protocol
    assert pickle.loads(pickle.dumps(options))._options["secret"] == "s3cr3t-value"


def test_the_cluster_trains_the_same_recipe_without_the_inputs_left_out(tmp_path: Path) -> None:
    from distributed import LocalCluster  # Dask only in this test's process when it runs

    from fraud_detection.adapters.dask_training import DaskTraining

    settings = Settings(excluded_inputs=["CODE_GENDER"], correction_rounds=5)
    settings = settings.model_copy(
        update={"xgb": settings.xgb.model_copy(update={"n_estimators": 10})}
    )
    history, _ = generate(2_000, month_index=0, seed=5)
    path = tmp_path / "base.parquet"
    history.to_parquet(path)
    part = ClusterPart("base", str(path), hashlib.sha256(path.read_bytes()).hexdigest(), 1.0)
    month = validate_frame(generate(1_500, month_index=1, seed=6)[0])
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        DaskTraining.connect(cluster.scheduler_address, {}) as training,
    ):
        trained = training.train(
            ClusterPool([part], "2025-01", month), settings.xgb, settings.training_plan(), seed=1
        )

    names = trained.booster.feature_names
    assert names == [f for f in FEATURES if f != "CODE_GENDER"]
    assert trained.rows["pool_rows"] == 3_500
    assert predict_proba(trained.booster, feature_matrix(month)).shape == (1_500,)
