"""The monthly-retrain and bootstrap flows under a temporary Prefect API (one per session)."""

from __future__ import annotations

import io
from pathlib import Path
from uuid import UUID

import numpy as np
import pandas as pd
import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.client.schemas.sorting import TaskRunSort

from flows import retrain as retrain_module
from flows.bootstrap import bootstrap
from flows.retrain import monthly_retrain
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from fraud_detection.sources.synthetic import generate
from tests.support.flows import seed_lake, snapshot, use_data_dir, versions_by_month

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_harness")]
# The fraud ring of sources/synthetic.py: recently registered applicants of revolving loans.
RING_FEATURES = ("NAME_CONTRACT_TYPE", "DAYS_REGISTRATION")
RING_BASE_ROWS, RING_MONTH_ROWS = 4_000, 6_000


def _report_artifacts(flow_run_id: UUID) -> list[str]:
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
                key=ArtifactFilterKey(any_=["retrain-report"]),
            )
        )
    return [a.data for a in artifacts]


def _task_names(flow_run_id: UUID) -> list[str]:
    """The tasks a flow run ran, in the order they started, as the Prefect API records them."""
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,
        )
    return [run.name.rsplit("-", 1)[0] for run in runs]


def test_a_year_of_months_promotes_and_rejects_with_consistent_aliases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a lake with base history and twelve drifting months
    settings = use_data_dir(monkeypatch, tmp_path / "data")
    months = seed_lake(settings, months=12)
    assert bootstrap()["created"] is True
    assert bootstrap()["created"] is False  # safe to run twice

    # When the flow runs once per month, in order, picking the month itself
    outcomes = {}
    for expected_month in months:
        state = monthly_retrain(return_state=True)
        assert state.is_completed(), state.message
        result = state.result()
        assert result["month"] == expected_month
        outcomes[expected_month] = result
        reports = _report_artifacts(state.state_details.flow_run_id)
        assert len(reports) == 1 and expected_month in reports[0]
        assert "champion" in reports[0] and "challenger" in reports[0]
        assert "## What the challenger learnt" in reports[0]
        # and the run's tasks, as the Prefect UI lists them, are the designed steps in order
        names = _task_names(state.state_details.flow_run_id)
        steps = ["fetch_month", "train_challenger", "evaluate", "compare_with_champion",
                 "transition_stage"]  # fmt: skip
        assert [n for n in names if n in steps] == steps, names

    # Then every month has exactly one judged version and a decision
    registry = open_registry(settings)
    by_month = versions_by_month(settings)
    refits = versions_by_month(settings, role="refit")
    assert all(len(by_month[m]) == 1 for m in months)
    statuses = [outcomes[m]["status"] for m in months]
    assert set(statuses) <= {"promoted", "rejected"} and "promoted" in statuses
    # and each promotion serves the judged recipe refitted on the whole month
    for m in months:
        version = registry.version(by_month[m][0])
        assert version.tags.decision == outcomes[m]["status"]
        assert (version.tags.decision_reason or "").startswith("Rule: promote unless")
        if outcomes[m]["status"] == "promoted":
            assert refits[m] == [outcomes[m]["served_version"]]
            refit = registry.version(refits[m][0])
            assert refit.tags.refit_of == by_month[m][0]
        else:
            assert m not in refits
    last_promoted = [outcomes[m]["served_version"] for m in months if outcomes[m]["status"] == "promoted"][-1]  # fmt: skip
    champion = registry.champion()
    assert champion is not None and champion.version == last_promoted
    assert str(registry.alias("challenger").version) == outcomes[months[-1]]["challenger_version"]
    # and with every month decided there is nothing left to do
    assert monthly_retrain() == {"status": "nothing to do"}


def test_the_report_says_what_the_challenger_learnt_from_a_new_fraud_pattern(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A month of the fraud ring (recently registered revolving-credit applicants) after a
    history without it; large enough for the ring to be learnt (the year test's months are not).
    """
    # Given a champion trained on the history and a month in which the ring is active
    settings = use_data_dir(monkeypatch, tmp_path / "data")
    lake = Lake.from_settings(settings)
    lake.write("base", *generate(RING_BASE_ROWS, month_index=0, seed=settings.seed))
    month = "2025-05"
    lake.write(month, *generate(RING_MONTH_ROWS, month_index=5, seed=2, id_start=50_000_000))
    bootstrap()

    # When the month is retrained
    state = monthly_retrain(month=month, return_state=True)

    # Then the report read back from the Prefect API says, in words before any table, that the
    # challenger relies more on the ring's features than the champion did
    assert state.is_completed(), state.message
    reports = _report_artifacts(state.state_details.flow_run_id)
    assert len(reports) == 1
    section = reports[0].split("## What the challenger learnt")[1]
    words = section.split("| feature |")[0]
    relied_on_more = [
        line
        for line in words.splitlines()
        if ("relies more on" in line or "relies much more on" in line)
        and any(f"(`{name}`)" in line for name in RING_FEATURES)
    ]
    assert relied_on_more, words
    # and the challenger's MLflow run holds the same report
    registry = open_registry(settings)
    run_id = registry.version(state.result()["challenger_version"]).run_id
    assert run_id is not None
    logged = registry.client.download_artifacts(run_id, "report.md", str(tmp_path))
    assert Path(logged).read_text() == reports[0]


@pytest.fixture(scope="module")
def bootstrapped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with base history, two good months and a champion (shared, read-only base)."""
    data_dir = tmp_path_factory.mktemp("bad-months") / "data"
    with pytest.MonkeyPatch.context() as patch:
        settings = use_data_dir(patch, data_dir)
        seed_lake(settings, months=2)
        bootstrap()
    return data_dir


def _good_month() -> pd.DataFrame:
    from fraud_detection.sources.synthetic import generate

    frame, _ = generate(600, month_index=2, seed=99, id_start=90_000_000)
    return frame


def _write_raw(
    settings: Settings, month: str, data: bytes, name: str = "applications.parquet"
) -> Path:
    path = Path(settings.lake) / "incoming" / f"month={month}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _bad(kind: str) -> tuple[bytes, str]:
    """A malformed month of the given kind → (file bytes, text the error must name)."""
    frame = _good_month()
    if kind == "missing-column":
        return _parquet(frame.drop(columns=["AMT_CREDIT"])), "AMT_CREDIT"
    if kind == "wrong-dtype":
        return _parquet(
            frame.assign(DAYS_BIRTH=frame["DAYS_BIRTH"].astype(str) + "d")
        ), "DAYS_BIRTH"
    if kind == "nan-target":
        return _parquet(
            frame.assign(TARGET=frame["TARGET"].astype(float).where(frame.index != 3, np.nan))
        ), "TARGET"
    if kind == "non-binary-target":
        return _parquet(frame.assign(TARGET=frame["TARGET"].where(frame.index != 5, 2))), "TARGET"
    if kind == "income-zero":
        return _parquet(
            frame.assign(AMT_INCOME_TOTAL=frame["AMT_INCOME_TOTAL"].where(frame.index != 7, 0))
        ), "AMT_INCOME_TOTAL"
    if kind == "empty-file":
        return b"", "empty file"
    if kind == "duplicated-id":
        return _parquet(
            frame.assign(
                SK_ID_CURR=frame["SK_ID_CURR"].where(frame.index != 9, frame["SK_ID_CURR"][8])
            )
        ), "SK_ID_CURR"
    if kind == "corrupt-parquet":
        good = _parquet(frame)
        return good[: len(good) // 2] + b"\x00garbage" + good[-200:], "unreadable"
    if kind == "single-class":
        return _parquet(frame.assign(TARGET=0)), "single class"
    if kind == "negative-flag":
        return _parquet(
            frame.assign(FLAG_EMAIL=frame["FLAG_EMAIL"].where(frame.index != 4, -1))
        ), "FLAG_EMAIL"
    raise AssertionError(kind)


BAD_KINDS = ["missing-column", "wrong-dtype", "nan-target", "non-binary-target", "income-zero",
             "empty-file", "duplicated-id", "corrupt-parquet", "single-class", "negative-flag"]  # fmt: skip


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_a_malformed_month_fails_clearly_and_changes_nothing(
    kind: str, bootstrapped: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a champion and a malformed month in the lake
    settings = use_data_dir(monkeypatch, bootstrapped)
    month = f"2031-{BAD_KINDS.index(kind) + 1:02d}"
    data, expected = _bad(kind)
    path = _write_raw(settings, month, data)
    before = snapshot(settings)
    try:
        # When the flow runs on it
        state = monthly_retrain(month=month, return_state=True)
        # Then the run fails in validate_month, naming the partition and the problem
        assert state.is_failed()
        error = state.result(raise_on_failure=False)
        message = str(error)
        assert str(path) in message, message
        assert expected in message, message
        assert type(error).__name__ == "MonthError"
        # and the registry, the aliases and the lake are exactly as they were
        assert snapshot(settings) == before
        # and the month is quarantined with its reason, so the schedule does not stall on it
        record = open_registry(settings).quarantined()[month]
        assert record.path == str(path) and expected in record.reason
    finally:
        path.unlink()


def test_rerunning_a_decided_month_registers_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = use_data_dir(monkeypatch, tmp_path / "data")
    month = seed_lake(settings, months=1)[0]
    bootstrap()
    first = monthly_retrain(month=month)
    second = monthly_retrain(month=month)
    assert first["status"] in ("promoted", "rejected"), first
    assert second == {
        "status": "already decided",
        "month": month,
        "version": first["challenger_version"],
        "decision": first["status"],
    }
    assert second["version"] == first["challenger_version"]
    assert versions_by_month(settings)[month] == [first["challenger_version"]]


def test_a_run_that_failed_after_training_completes_on_retry_without_a_second_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a run whose transition step fails after the challenger was trained and registered
    settings = use_data_dir(monkeypatch, tmp_path / "data")
    month = seed_lake(settings, months=1)[0]
    bootstrap()
    champion_before = open_registry(settings).champion()

    def broken_transition(*args: object, **kwargs: object) -> None:
        raise ConnectionError("registry unreachable (injected)")

    failing = retrain_module.transition_stage.with_options(retries=0)
    monkeypatch.setattr(failing, "fn", broken_transition)
    monkeypatch.setattr(retrain_module, "transition_stage", failing)
    state = monthly_retrain(month=month, return_state=True)
    assert state.is_failed()
    assert len(versions_by_month(settings)[month]) == 1
    assert open_registry(settings).champion() == champion_before  # no alias moved
    monkeypatch.undo()

    # When the month runs again with the cause fixed
    settings = use_data_dir(monkeypatch, tmp_path / "data")
    result = monthly_retrain(month=month)

    # Then it completes with the version trained the first time, and the right champion
    assert result["status"] in ("promoted", "rejected")
    assert versions_by_month(settings)[month] == [result["challenger_version"]]
    champion = open_registry(settings).champion()
    assert champion is not None
    assert len(versions_by_month(settings, role="refit").get(month, [])) <= 1
    expected = (
        result["served_version"] if result["status"] == "promoted" else champion_before.version
    )
    assert champion.version == expected


def test_a_label_shuffled_month_is_quarantined_the_next_is_judged_and_a_correction_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a champion, a decided month, and a month whose labels were shuffled on delivery
    settings = use_data_dir(monkeypatch, tmp_path / "data")
    months = seed_lake(settings, months=3)
    bootstrap()
    assert monthly_retrain()["month"] == months[0]
    lake = Lake.from_settings(settings)
    bad_month = "2025-04"
    good = lake.read(months[1])
    shuffled = good.assign(TARGET=np.random.default_rng(3).permutation(good["TARGET"].to_numpy()))
    lake.write(bad_month, shuffled)
    champion_before = open_registry(settings).champion()

    # When the flow runs on it
    state = monthly_retrain(month=bad_month, return_state=True)

    # Then it is not promoted: the data alarm quarantines it, in the report and in MLflow
    assert state.is_completed(), state.message
    result = state.result()
    assert result["status"] == "quarantined" and result["served_version"] is None
    registry = open_registry(settings)
    assert registry.champion() == champion_before
    assert registry.quarantined()[bad_month].path == lake.latest(bad_month)
    version = registry.version(result["challenger_version"])
    assert version.tags.decision == "quarantined"
    run = registry.client.get_run(version.run_id)
    assert (
        run.data.tags["data_alarm"] == "raised" and "ROC-AUC" in run.data.tags["data_alarm_reason"]
    )
    reports = _report_artifacts(state.state_details.flow_run_id)
    assert len(reports) == 1 and "quarantined" in reports[0] and "Data alarm" in reports[0]

    # and the schedule goes on with the next months, skipping the quarantined one
    assert [monthly_retrain()["month"] for _ in range(2)] == months[1:]
    assert monthly_retrain() == {"status": "nothing to do"}

    # and a corrected delivery, ingested beside the old bytes, is then trained and judged
    corrected = lake.deliver(bad_month, lake.fetch(months[1])[0])
    assert len(lake.deliveries(bad_month)) == 2 and corrected.path.endswith(
        "applications-2.parquet"
    )
    again = monthly_retrain()
    assert again["month"] == bad_month and again["status"] in ("promoted", "rejected"), again
    assert (
        registry.version(again["challenger_version"]).tags.data_sha256 != version.tags.data_sha256
    )
