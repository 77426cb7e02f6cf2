"""The monitor flow under a temporary Prefect API, on the embedded defaults, with captured scores
written to the lake as the service writes them: what it reports is read back where a user
finds it (Prefect's API, the champion's version in MLflow, the lake)."""

from __future__ import annotations

import html
import io
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
)
from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

from flows.bootstrap import bootstrap
from flows.monitor import monitor
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.registry import Registry, VersionInfo
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from fraud_detection.core.contract import NOT_EMPLOYED
from fraud_detection.core.features import validate_frame
from fraud_detection.core.scored import REQUESTS_DIR, request_tally_schema
from fraud_detection.sources.synthetic import generate
from fraud_detection.steps.monitor_report import EVENT_NAME, REPORT_HTML
from tests.support.flows import seed_lake, use_data_dir
from tests.support.traffic import SHIFTED, captured, shifted

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_harness")]


def _artifact(flow_run_id: UUID, key: str) -> object:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
                key=ArtifactFilterKey(any_=[key]),
            )
        )
    assert len(found) == 1, found
    return found[0].data


def _events(since: datetime, event_id: str, timeout: float = 30) -> list[object]:
    """The monitor's events since ``since``, once the server has stored the one named
    ``event_id`` (events are stored a moment after the run that emitted them ends)."""
    deadline = time.monotonic() + timeout
    while True:
        with get_client(sync_client=True) as client:
            page = client.read_events(
                EventFilter(
                    occurred=EventOccurredFilter(since=since),
                    event=EventNameFilter(name=[EVENT_NAME]),
                ),
                limit=10,  # the server answers at most 50 a page
            )
        if event_id in {str(e.id) for e in page.events} or time.monotonic() > deadline:
            return list(page.events)
        time.sleep(0.5)


def _group_table(flow_run_id: UUID, *, records: int) -> list[dict[str, str]]:
    """The ``monitor-groups`` artifact read back: every built-in group, each record counted once
    per attribute, every group with its reference share."""
    table = _artifact(flow_run_id, "monitor-groups")
    rows: list[dict[str, str]] = table if isinstance(table, list) else json.loads(str(table))
    assert {(r["attribute"], r["group"]) for r in rows} >= {
        ("sex", "female"), ("sex", "male"), ("pensioner", "pensioner"),
        ("pensioner", "not pensioner"), ("age_band", "60 years and over"),
    }  # fmt: skip
    counted = [int(r["records in the window"].replace(",", "")) for r in rows
               if r["attribute"] == "sex"]  # fmt: skip
    assert sum(counted) == records
    assert all(r["share flagged in the reference"].endswith("%") for r in rows)
    return rows


def _write_tallies(lake: Lake, at: datetime, accepted: int, rejected: int) -> None:
    table = pa.table(
        {
            "window_start": [at, at],
            "window_end": [at, at],
            "endpoint": ["/predict", "/predict"],
            "status": [200, 400],
            "requests": [accepted, rejected],
        },
        schema=request_tally_schema(),
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    path = f"{lake.root}/{REQUESTS_DIR}/day={at.date()}/test-1.parquet"
    assert lake.create_file(path, buffer.getvalue())


def _a_day_of_shifted_traffic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Settings, Registry, VersionInfo, ScoredStore, datetime]:
    """A bootstrapped champion and a day of its traffic with the SHIFTED inputs moved."""
    settings = use_data_dir(monkeypatch, tmp_path / "data")
    for name, value in {"MONITOR_REFERENCE_ROWS": "4000", "MONITOR_SAMPLE_ROWS": "4000",
                        "CAPTURE_RETENTION_DAYS": "30"}.items():  # fmt: skip
        monkeypatch.setenv(f"FRAUD_{name}", value)
    seed_lake(settings, months=1)
    bootstrap()
    registry = open_registry(settings)
    champion = registry.champion()
    assert champion is not None
    booster = registry.load_booster(champion.version)
    frame, _ = generate(4_000, month_index=0, seed=77, id_start=800_000_000)
    now = datetime.now(UTC).replace(microsecond=0)
    lake = Lake.from_settings(settings)
    store = ScoredStore(lake)
    score = {"version": champion.version, "threshold": champion.tags.threshold_or(0.25)}
    store.write(captured(shifted(validate_frame(frame)), booster, scored_at=now, **score), "t")
    old = validate_frame(generate(20, month_index=0, seed=3, id_start=1)[0])
    store.write(captured(old, booster, scored_at=now - timedelta(days=40), **score), "t")
    _write_tallies(lake, now, accepted=4_000, rejected=350)
    return settings, registry, champion, store, now


def test_shifted_traffic_is_reported_drifted_on_the_shifted_columns_where_a_user_looks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a champion (bootstrapped on the base history) and a day of its traffic drawn like
    # that history but with four inputs moved on purpose, 8 % of requests refused, and records
    # older than the retention. 4,000 rows a side: at 1,500 the distance between two samples
    # of one distribution reaches Evidently's 0.1 threshold now and then on heavy-tailed amounts.
    settings, registry, champion, store, now = _a_day_of_shifted_traffic(tmp_path, monkeypatch)
    junk = Path(store.root) / f"day={now.date()}" / "junk-1.parquet"  # not Parquet at all
    junk.write_bytes(b"PAR1 this is not a batch file")
    started = datetime.now(UTC)  # the tests share one Prefect server: only this run's events

    # When the monitor flow runs on its defaults (the last 7 days)
    state = monitor(return_state=True)

    # Then it reports exactly the shifted columns as drifted, past the rejected-rate limit
    assert state.is_completed(), state.message
    result = state.result()
    assert result["status"] == "alert" and result["records"] == 4_000
    assert set(result["drifted_features"]) == set(SHIFTED)
    assert result["headline"].startswith("Past the limits (")
    assert "8.0% of requests were rejected (> 5.0%)" in result["headline"]

    # and the markdown artifact, read back through the Prefect API, says so on its first line
    flow_run_id = state.state_details.flow_run_id
    first = str(_artifact(flow_run_id, "monitor-report")).splitlines()[0]
    assert first == result["headline"] and all(name in first for name in SHIFTED)
    table = _artifact(flow_run_id, "monitor-drift")
    rows = table if isinstance(table, list) else json.loads(str(table))
    assert {r["column"] for r in rows if r["drifted"] and r["column"] in SHIFTED} == set(SHIFTED)
    assert {r["column"] for r in rows if r["drifted"]} - set(SHIFTED) <= {"probability (the score)"}

    # and each group's share flagged, window against reference, is a table artifact
    group_rows = _group_table(flow_run_id, records=4_000)

    # and the report is found from the champion's version in MLflow
    version = registry.version(champion.version)
    run_id = version.tags.monitor_run_id
    assert run_id == result["mlflow_run_id"]
    run = registry.client.get_run(run_id)
    assert run.data.tags["model_version"] == champion.version and run.data.tags["alert"] == "true"
    assert run.data.metrics["drifted_features"] == 4 and run.data.metrics["records"] == 4_000
    women = next(r for r in group_rows if r["group"] == "female")
    share = run.data.metrics["group.sex.female.selection_rate"]
    assert f"{share:.1%}" == women["share flagged in the window"]
    assert "group.sex.female.reference_selection_rate" in run.data.metrics
    html_path = registry.client.download_artifacts(run_id, REPORT_HTML, str(tmp_path))
    assert html.escape(result["headline"]) in Path(html_path).read_text()
    # and in the lake, beside the day's summary
    assert Path(result["report"]).read_text() == Path(html_path).read_text()

    # and past the limits a Prefect event names the model
    events = _events(started, result["event_id"])
    assert [e.resource.id for e in events] == [f"fraud-detection.model.{settings.model_name}"]
    assert str(events[0].id) == result["event_id"]
    assert events[0].payload["mlflow_run_id"] == run_id

    # and captured scores older than the retention are gone, the window's are kept
    assert result["expired_days"] == [str((now - timedelta(days=40)).date())]
    assert store.days() == [str(now.date())]
    # and the junk file was set aside, counted in the run, the rest of the day read
    assert result["set_aside_files"] == [f"day={now.date()}/junk-1.parquet"] and not junk.exists()
    assert run.data.metrics["set_aside_files"] == 1


def test_a_window_without_traffic_is_reported_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = use_data_dir(monkeypatch, tmp_path / "data")
    seed_lake(settings, months=1)
    bootstrap()
    result = monitor(since="2025-03-01", until="2025-03-07")
    assert result["status"] == "no traffic" and result["event_id"] is None
    assert result["headline"] == (
        "No traffic from 2025-03-01 to 2025-03-07: nothing was scored in the window, "
        "so nothing to compare."
    )
    assert Path(result["report"]).exists()


def test_a_shift_in_the_pensioners_scores_fires_the_event_naming_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a day of the champion's traffic drawn like its training data, except that every
    # pensioner's score was raised by 0.3 (and flagged at the served threshold)
    settings = use_data_dir(monkeypatch, tmp_path / "data")
    seed_lake(settings, months=1)
    bootstrap()
    registry = open_registry(settings)
    champion = registry.champion()
    assert champion is not None
    threshold = champion.tags.threshold_or(settings.default_threshold)
    frame = validate_frame(generate(3_000, month_index=0, seed=78, id_start=810_000_000)[0])
    now = datetime.now(UTC).replace(microsecond=0)
    table = captured(frame, registry.load_booster(champion.version), version=champion.version,
                     threshold=threshold, scored_at=now)  # fmt: skip
    records = table.to_pandas()
    pensioners = records["DAYS_EMPLOYED"] == NOT_EMPLOYED.value
    records.loc[pensioners, "probability"] = (records.loc[pensioners, "probability"] + 0.3).clip(
        upper=1.0
    )
    records["is_fraud"] = records["probability"] >= threshold
    ScoredStore(Lake.from_settings(settings)).write(
        pa.Table.from_pandas(records, schema=table.schema, preserve_index=False), "t"
    )

    # When the monitor runs
    started = datetime.now(UTC)  # the tests share one Prefect server: only this run's events
    state = monitor(return_state=True)

    # Then the pensioners are past the limit, in the result, the table and the Prefect event
    assert state.is_completed(), state.message
    result = state.result()
    assert "pensioner=pensioner" in result["groups_past_limit"]
    assert "pensioner=not pensioner" not in result["groups_past_limit"]
    rows = _group_table(state.state_details.flow_run_id, records=3_000)
    pensioner = next(r for r in rows if r["group"] == "pensioner")
    assert pensioner["difference"].endswith("past the limit")
    events = _events(started, result["event_id"])
    assert [str(e.id) for e in events] == [result["event_id"]]
    assert "pensioner=pensioner" in events[0].payload["groups_past_limit"]


def test_a_window_flagging_more_than_the_capacity_reports_it_and_fires_the_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a capacity of 5 % and a day of the champion's traffic of which 300 of 2,000
    # records (15 %) were served as flagged, spread evenly over the applicants
    monkeypatch.setenv("FRAUD_REVIEW_CAPACITY", "0.05")
    settings = use_data_dir(monkeypatch, tmp_path / "data")
    seed_lake(settings, months=1)
    bootstrap()
    registry = open_registry(settings)
    champion = registry.champion()
    assert champion is not None
    frame = validate_frame(generate(2_000, month_index=0, seed=79, id_start=820_000_000)[0])
    now = datetime.now(UTC).replace(microsecond=0)
    table = captured(frame, registry.load_booster(champion.version), version=champion.version,
                     threshold=champion.tags.threshold_or(0.5), scored_at=now)  # fmt: skip
    records = table.to_pandas()
    records["is_fraud"] = np.arange(len(records)) % 20 < 3
    ScoredStore(Lake.from_settings(settings)).write(
        pa.Table.from_pandas(records, schema=table.schema, preserve_index=False), "t"
    )

    # When the monitor runs
    started = datetime.now(UTC)  # the tests share one Prefect server: only this run's events
    state = monitor(return_state=True)

    # Then the capacity figure is read back from the artifacts, in words first, then the table
    assert state.is_completed(), state.message
    result = state.result()
    assert result["status"] == "alert" and result["capacity_past_limit"] is True
    flow_run_id = state.state_details.flow_run_id
    words = "300 of 2,000 records flagged (15.0%) against the capacity of 5.0%: 10.0 points more"
    assert words in str(_artifact(flow_run_id, "monitor-report"))
    table_data = _artifact(flow_run_id, "monitor-capacity")
    rows = table_data if isinstance(table_data, list) else json.loads(str(table_data))
    assert rows[0]["share flagged"] == "15.0%" and rows[0]["capacity"] == "100 (5.0%)"
    assert rows[0]["gap"] == "+10.0 points past the limit"
    # and in MLflow beside the other monitor figures
    run = registry.client.get_run(result["mlflow_run_id"])
    assert run.data.metrics["flagged_share"] == pytest.approx(0.15)
    assert run.data.metrics["capacity_share"] == pytest.approx(0.05)
    assert run.data.params["max_capacity_gap"] == "0.02"
    # and the Prefect event carries it
    events = _events(started, result["event_id"])
    assert [str(e.id) for e in events] == [result["event_id"]]
    assert events[0].payload["capacity"]["share_flagged"] == pytest.approx(0.15)
    assert words in events[0].payload["capacity"]["in_words"]
