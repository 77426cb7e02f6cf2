"""Capture of served scores on a real `bentoml serve` writing to an S3 lake (SeaweedFS): across a
promotion, through an outage of S3 and a graceful stop, each answered record lands once, with
the version that answered it."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devstack.servers import S3Server
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.monitoring import RequestTallies
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from fraud_detection.core.monitoring import Rejections, Window
from fraud_detection.sources.synthetic import generate
from tests.support.models import register_small, train_small
from tests.support.service import BentoServer, get, post

pytestmark = pytest.mark.integration
BUCKET = "capture"
REFRESH_S = 1.0


class Client:
    """Sends requests of one to three applications, each application once, and keeps what
    every response said."""

    def __init__(self, url: str) -> None:
        frame, _ = generate(6_000, month_index=2, seed=41, id_start=60_000_000)
        self.records: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
        self.url = url
        self.answers: list[tuple[int, list[int], str | None]] = []  # status, ids, version
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._send)

    def _send(self) -> None:
        sent = 0
        while not self._stop.is_set() and sent < len(self.records):
            batch = self.records[sent : sent + 1 + sent % 3]
            sent += len(batch)
            status, body = post(f"{self.url}/predict", {"data": batch})
            version = body.get("model_version") if status == 200 else None
            self.answers.append((status, [r["SK_ID_CURR"] for r in batch], version))
            time.sleep(0.005)

    def __enter__(self) -> Client:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def versions_seen(self) -> set[str | None]:
        return {version for _, _, version in self.answers}


def _metric(text: str, name: str) -> float:
    """The sum of a counter over the workers' samples in /metrics."""
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


def _on_s3(s3: S3Server, settings: Settings) -> tuple[Settings, dict[str, str]]:
    """An S3 lake's settings, and the service's environment: following the registry of
    ``settings``, writing its captured scores to that lake every half second."""
    lake = Settings(
        lake_uri=f"s3://{BUCKET}/lake-{uuid.uuid4().hex[:8]}",
        s3_endpoint_url=s3.endpoint,
        s3_access_key_id=s3.access_key,
        s3_secret_access_key=s3.secret_key,
    )
    return lake, {
        "FRAUD_MLFLOW_TRACKING_URI": settings.tracking_uri,
        "FRAUD_REFRESH_INTERVAL_S": str(REFRESH_S),
        "FRAUD_LAKE_URI": lake.lake,
        "FRAUD_S3_ENDPOINT_URL": s3.endpoint,
        "FRAUD_S3_ACCESS_KEY_ID": s3.access_key,
        "FRAUD_S3_SECRET_ACCESS_KEY": s3.secret_key,
        "FRAUD_CAPTURE_FLUSH_INTERVAL_S": "0.5",
        "FRAUD_CAPTURE_RETRY_INTERVAL_S": "1",
    }


def _two_versions(settings: Settings) -> tuple[str, str]:
    registry = open_registry(settings)
    v1 = register_small(registry, train_small(1, 0), "2025-01")
    v2 = register_small(registry, train_small(2, 6), "2025-06")
    registry.promote(v1, expected_champion=None)
    return v1, v2


def _an_outage(s3: S3Server, log: Path, client: Client) -> int:
    """Stop S3 until the service has failed to write it a few times, start it again on the same
    port and data folder, and wait for the waiting batches to be sent → requests meanwhile."""
    s3.stop()
    before = len(client.answers)
    _wait(lambda: "the lake cannot be written" in log.read_text(), 30, "a warning")
    time.sleep(2)  # more flushes and failed sends
    during = len(client.answers) - before
    s3.start()
    _wait(lambda: "the lake answers again" in log.read_text(), 30, "the batches resent")
    return during


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def _each_answer_is_in_the_lake_once(client: Client, store: ScoredStore) -> None:
    """Each application is sent once: its record is in the lake once, with the version of the
    answer, and the records of a request share its request id."""
    answered = {i: version for _, ids, version in client.answers for i in ids}
    table = store.read(columns=["request_id", "SK_ID_CURR", "model_version"]).to_pylist()
    assert len(table) == len(answered), (len(table), len(answered))
    assert Counter(row["SK_ID_CURR"] for row in table).most_common(1)[0][1] == 1
    assert {row["SK_ID_CURR"]: row["model_version"] for row in table} == answered
    by_request = Counter(row["request_id"] for row in table)
    assert sorted(by_request.values()) == sorted(len(ids) for _, ids, _ in client.answers)


def test_every_answer_is_captured_once_across_a_promotion_an_s3_outage_and_a_stop(
    tmp_path: Path,
) -> None:
    # Given a registry with two versions (v1 champion), an S3 lake, and a service writing its
    # captured scores there every half second (a retry every second while S3 fails)
    settings = Settings(data_dir=tmp_path / "data")
    v1, v2 = _two_versions(settings)
    s3 = S3Server("s3", tmp_path / "s3").start()
    bento = None
    try:
        s3.create_bucket(BUCKET)
        lake_settings, env = _on_s3(s3, settings)
        bento = BentoServer("service.service:FraudDetector", env, tmp_path / "serve.log").start()
        store = ScoredStore(Lake.from_settings(lake_settings))

        # When a client sends requests while v2 is promoted, then while S3 is down, and after
        with Client(bento.url) as client:
            _wait(lambda: len(client.answers) > 30, 30, "first answers")
            open_registry(settings).promote(v2, expected_champion=v1)
            _wait(lambda: v2 in client.versions_seen(), REFRESH_S + 10, "v2 serving")
            _wait(lambda: len(store.days()) > 0, 20, "records in the lake before the outage")
            during = _an_outage(s3, bento.log, client)
            time.sleep(1)
        refused = [post(f"{bento.url}/predict", {"data": [{"SK_ID_CURR": 1}]})[0] for _ in range(7)]
        metrics = get(f"{bento.url}/metrics")[1]
        bento.stop()  # graceful: what is buffered is written
        bento_log = bento.log.read_text()
        bento = None

        # Then every request was answered, during the outage too, and each answered record is
        # in the lake exactly once, with the version that answered it
        assert during >= 5 and all(status == 200 for status, _, _ in client.answers)
        assert client.versions_seen() == {v1, v2}
        _each_answer_is_in_the_lake_once(client, store)
        # the refused requests are no score, but counted where the monitor reads them
        assert all(400 <= status < 500 for status in refused), refused
        today = datetime.now(UTC).date()
        tallied = RequestTallies(store.lake).rejections(Window(today, today))
        assert tallied == Rejections(7, len(client.answers) + 7)
        # and /metrics counted the failed sends and no drop; the log holds counts, no record
        assert _metric(metrics, "capture_send_failures_total") >= 1, metrics
        assert _metric(metrics, "capture_records_dropped_total") == 0
        assert str(client.records[0]["SK_ID_CURR"]) not in bento_log
    finally:
        if bento is not None:
            bento.stop()
        s3.stop()
