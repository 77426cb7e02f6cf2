"""A crash of the whole service on a real `bentoml serve`: every process SIGKILLed (what an
out-of-memory kill of the container does), the service started again on the same spill folder →
every answered record in the lake exactly once. And a junk file dropped into the spill folder
while traffic flows to an S3 lake (SeaweedFS) is set aside and counted; the records still flow."""

from __future__ import annotations

import json
import re
import signal
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import psutil
import pytest

from devstack.servers import S3Server
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from fraud_detection.sources.synthetic import generate
from tests.support.models import register_small, train_small
from tests.support.service import BentoServer, get, post

pytestmark = pytest.mark.integration
BUCKET = "capture-crash"


def _records(count: int, id_start: int) -> list[dict[str, Any]]:
    frame, _ = generate(count, month_index=2, seed=7, id_start=id_start)
    records: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    return records


def _service_env(tmp_path: Path, lake: str) -> dict[str, str]:
    """A service following a local registry with a champion, writing to ``lake``, with batches
    flushed only once a minute: until then its records are in memory and in the journal."""
    settings = Settings(data_dir=tmp_path / "data")
    registry = open_registry(settings)
    registry.promote(register_small(registry, train_small(1, 0), "2025-01"), expected_champion=None)
    return {
        "FRAUD_MLFLOW_TRACKING_URI": settings.tracking_uri,
        "FRAUD_LAKE_URI": lake,
        "FRAUD_CAPTURE_SPILL_DIR": str(tmp_path / "spill"),
        "FRAUD_CAPTURE_FLUSH_INTERVAL_S": "60",
        "FRAUD_CAPTURE_RETRY_INTERVAL_S": "1",
    }


def _kill_every_process(server: BentoServer) -> None:
    """SIGKILL the arbiter and every worker (found from the process tree: the workers run in
    sessions of their own, so the arbiter's process group is not enough), and check them dead."""
    assert server.process is not None
    arbiter = psutil.Process(server.process.pid)
    everyone = [arbiter, *arbiter.children(recursive=True)]
    assert len(everyone) >= 2, everyone  # an arbiter and at least one worker
    for process in everyone:
        process.send_signal(signal.SIGKILL)
    _, alive = psutil.wait_procs(everyone, timeout=10)
    assert alive == []


RECOVERED = "capture_records_recovered_total"


def _metric(text: str, name: str) -> float:
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_every_answered_record_reaches_the_lake_once_after_the_whole_service_is_killed(
    tmp_path: Path,
) -> None:
    # Given a service on a local lake that flushes once a minute
    lake = ScoredStore(Lake(str(tmp_path / "lake")))
    env = _service_env(tmp_path, str(tmp_path / "lake"))
    server = BentoServer("service.service:FraudDetector", env, tmp_path / "first.log").start()
    restarted = None
    try:
        # When 100 requests of 2 records are answered (/score and /explain), then 1.5 s later
        # every process of the service is killed
        records = _records(200, 70_000_000)
        for i in range(0, len(records), 2):
            endpoint = "/explain" if i % 10 == 0 else "/score"
            status, _ = post(f"{server.url}{endpoint}", {"data": records[i : i + 2]})
            assert status == 200
        time.sleep(1.5)
        _kill_every_process(server)
        server.stop()
        assert lake.days() == []  # nothing was flushed before the kill

        # and the service is started again on the same spill folder, then stopped gracefully
        restarted = BentoServer("service.service:FraudDetector", env, tmp_path / "second.log")
        restarted.start()
        # (each worker's capture process recovers what it finds first: all of it in time)
        _wait(lambda: _metric(get(f"{restarted.url}/metrics")[1], RECOVERED) >= 200, 60, "recovery")
        metrics = get(f"{restarted.url}/metrics")[1]
        restarted.stop()
        restarted = None
    finally:
        for bento in (server, restarted):
            if bento is not None:
                bento.stop()

    # Then every answered record is in the lake exactly once
    rows = lake.read(columns=["SK_ID_CURR", "endpoint"]).to_pylist()
    assert len(rows) == 200
    assert Counter(row["SK_ID_CURR"] for row in rows).most_common(1)[0][1] == 1
    assert {row["SK_ID_CURR"] for row in rows} == {r["SK_ID_CURR"] for r in records}
    assert Counter(row["endpoint"] for row in rows) == {"/score": 160, "/explain": 40}
    assert _metric(metrics, RECOVERED) == 200
    assert _metric(metrics, "capture_journal_torn_records_total") == 0
    assert not list((tmp_path / "spill" / "_journal").glob("*.seg"))


def test_a_junk_file_in_the_spill_folder_while_traffic_flows_to_s3_is_set_aside(
    tmp_path: Path,
) -> None:
    s3 = S3Server("s3", tmp_path / "s3").start()
    server = None
    try:
        s3.create_bucket(BUCKET)
        lake_uri = f"s3://{BUCKET}/lake-{uuid.uuid4().hex[:8]}"
        env = {
            **_service_env(tmp_path, lake_uri),
            "FRAUD_CAPTURE_FLUSH_INTERVAL_S": "0.5",
            "FRAUD_S3_ENDPOINT_URL": s3.endpoint,
            "FRAUD_S3_ACCESS_KEY_ID": s3.access_key,
            "FRAUD_S3_SECRET_ACCESS_KEY": s3.secret_key,
        }
        lake = ScoredStore(
            Lake.from_settings(
                Settings(
                    lake_uri=lake_uri,
                    s3_endpoint_url=s3.endpoint,
                    s3_access_key_id=s3.access_key,
                    s3_secret_access_key=s3.secret_key,
                )
            )
        )
        server = BentoServer("service.service:FraudDetector", env, tmp_path / "serve.log").start()
        records = _records(120, 80_000_000)
        # Given traffic flowing, when a junk file with a batch file's name lands in the spill folder
        for i in range(0, 60, 2):
            assert post(f"{server.url}/score", {"data": records[i : i + 2]})[0] == 200
        junk = tmp_path / "spill" / "day=2026-01-02" / "host-1-abc-junk.parquet"
        junk.parent.mkdir(parents=True, exist_ok=True)
        junk.write_bytes(b"not a parquet file")
        for i in range(60, 120, 2):
            assert post(f"{server.url}/score", {"data": records[i : i + 2]})[0] == 200
            time.sleep(0.02)
        # Then every record still reaches the lake, the junk is set aside and counted
        _wait(lambda: lake.read(columns=["SK_ID_CURR"]).num_rows == 120, 60, "all records sent")
        metrics = get(f"{server.url}/metrics")[1]
        days = set(lake.days())
    finally:
        if server is not None:
            server.stop()
        s3.stop()
    assert not junk.exists()
    assert (tmp_path / "spill" / "_unreadable" / "day=2026-01-02" / junk.name).exists()
    assert "2026-01-02" not in days  # the junk's day: never written to the lake
    assert _metric(metrics, "capture_files_quarantined_total") == 1
    assert re.search(r'^capture_errors_total\{kind="unreadable"\} 1\.0$', metrics, re.M), metrics
