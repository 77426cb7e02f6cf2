"""The service image as `bentoml containerize` makes it, run with podman.

- with the bundled champion and no MLflow, the API key passed as a secret environment variable;
- pointed at a real `mlflow server` on the host: follows a promotion under load, survives the
  server going away;
- capturing every score it serves to an S3 lake (SeaweedFS on the host): a graceful stop loses
  none, and every record names the version that answered it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from devstack.servers import S3Server
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.scored import ScoredStore
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from fraud_detection.core.features import feature_matrix, validate_frame
from tests.support.containers.engine import image_size_mb, podman
from tests.support.containers.report import REFRESH_S, report
from tests.support.containers.running import Container, create_secret, remove_secret, run_service
from tests.support.records import EXAMPLE, client_records
from tests.support.servers import BUCKET
from tests.support.service import get, post

pytestmark = pytest.mark.container
API_KEY = "container-key-" + "k" * 24
SIZE_GOAL_MB, READY_GOAL_S = 700, 5.0


@pytest.fixture(scope="module")
def bundled(service_image: str) -> Iterator[tuple[Container, tuple[float, float]]]:
    """The image alone: no MLflow anywhere, the API key from a podman secret."""
    secret = create_secret(API_KEY)
    container = run_service(service_image, api_key_secret=secret)
    try:
        timing = container.wait_ready()
        report(
            "time to ready (bundled model)",
            f"/readyz 200 after {timing[0]:.1f} s, every worker serving after {timing[1]:.1f} s",
        )
        yield container, timing
    finally:
        container.remove()
        remove_secret(secret)


def test_the_image_is_lean_and_ready_within_seconds(
    service_image: str, bundled: tuple[Container, tuple[float, float]]
) -> None:
    size = image_size_mb(service_image)
    ready, _ = bundled[1]
    report(
        "service image vs goals",
        f"{size:.0f} MB (goal ≤ {SIZE_GOAL_MB}), ready {ready:.1f} s (goal ≤ {READY_GOAL_S:.0f})",
    )
    # Hard limits with headroom for a busy CI machine; the goals are printed above. Ready took
    # 3.5 s on a quiet machine and 16-25 s at a load of 9-12 on 2 cores (other test sessions).
    assert size < 750, f"service image {size:.0f} MB"
    assert ready < 60, f"service image ready after {ready:.1f} s"


def test_the_bundled_champion_answers_like_in_process_scoring(
    bundled: tuple[Container, tuple[float, float]], registry: dict[str, Any]
) -> None:
    container = bundled[0]
    frame, records = client_records(30, seed=11, id_start=70_000_000, underscore_half=False)
    records = [dict(EXAMPLE), *records]
    frame = pd.concat([pd.DataFrame([EXAMPLE]), frame], ignore_index=True)
    expected = registry["models"][0].booster.inplace_predict(feature_matrix(validate_frame(frame)))
    key = {"X-API-Key": API_KEY}

    status, body = post(f"{container.url}/predict", {"data": records}, key)
    score_status, scored = post(f"{container.url}/score", {"data": records}, key)
    info_status, info = get(f"{container.url}/model", key)

    assert status == 200 and score_status == 200 and info_status == 200, (body, scored, info)
    assert [p["probability"] for p in body["predictions"]] == [round(float(p), 4) for p in expected]
    unrounded = np.array([s["probability"] for s in scored["scores"]])
    assert np.max(np.abs(unrounded - expected)) <= 1e-6
    assert body["model_version"] == registry["versions"][0]
    assert info["source"] == "bundle" and info["version"] == registry["versions"][0]


def test_the_api_key_from_a_secret_guards_scoring_but_not_health(
    bundled: tuple[Container, tuple[float, float]],
) -> None:
    container = bundled[0]
    payload = {"data": [EXAMPLE]}
    assert post(f"{container.url}/predict", payload)[0] == 401
    assert post(f"{container.url}/predict", payload, {"X-API-Key": "wrong"})[0] == 401
    assert get(f"{container.url}/model")[0] == 401
    bearer = {"Authorization": f"Bearer {API_KEY}"}
    assert post(f"{container.url}/predict", payload, bearer)[0] == 200
    assert get(f"{container.url}/livez")[0] == 200 and get(f"{container.url}/readyz")[0] == 200
    assert get(f"{container.url}/metrics")[0] == 200
    assert API_KEY not in container.logs()


def _load(
    url: str, headers: dict[str, str], stop: threading.Event, seen: list[tuple[float, int, Any]]
) -> None:
    """One client of a small bounded load: sequential requests, as fast as answered."""
    while not stop.is_set():
        status, body = post(f"{url}/predict", {"data": [EXAMPLE]}, headers)
        version = body.get("model_version") if status == 200 else body
        seen.append((time.monotonic(), status, version))


def follow_promotion(
    urls: list[str],
    registry: dict[str, Any],
    clients_per_url: int = 2,
    headers: dict[str, str] | None = None,
) -> None:
    """Promote v2 under load; every request succeeds and every answer after one refresh
    interval (+2 s for the slowest worker's poll and load) comes from v2. v1 is put back."""
    v1, v2 = registry["versions"]
    seen: dict[str, list[tuple[float, int, Any]]] = {url: [] for url in urls}
    stop = threading.Event()
    threads = [
        threading.Thread(target=_load, args=(url, headers or {}, stop, seen[url]))
        for url in urls
        for _ in range(clients_per_url)
    ]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        open_registry(registry["settings"]).promote(v2, expected_champion=v1)
        promoted_at = time.monotonic()
        time.sleep(REFRESH_S + 4)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        open_registry(registry["settings"]).promote(v1, expected_champion=v2)
    for url, answers in seen.items():
        failed = [a for a in answers if a[1] != 200]
        assert answers and not failed, (url, len(answers), failed[:3])
        assert any(v == v1 for t, _, v in answers if t < promoted_at), url
        late = [v for t, _, v in answers if t > promoted_at + REFRESH_S + 2]
        assert late and set(late) == {v2}, (url, sorted(set(map(str, late))))
        report("promotion followed", f"{url}: {len(answers)} requests, 0 failed")


def test_following_mlflow_a_promotion_is_served_and_an_outage_survived(
    service_image: str, registry: dict[str, Any]
) -> None:
    server = registry["server"]
    v1 = registry["versions"][0]
    container = run_service(
        service_image,
        {
            "MLFLOW_TRACKING_URI": server.url,
            "FRAUD_REFRESH_INTERVAL_S": str(REFRESH_S),
        },
        host_network=True,
    )
    try:
        ready, all_workers = container.wait_ready()
        report(
            "time to ready (champion from MLflow)",
            f"/readyz 200 after {ready:.1f} s, every worker serving after {all_workers:.1f} s",
        )
        info = get(f"{container.url}/model")[1]
        assert info["source"] == "mlflow" and info["version"] == v1, (
            info,
            container.logs()[-3000:],
        )

        # A promotion, followed with zero failed requests under load
        follow_promotion([container.url], registry)
        # (v1 is champion again; wait until every answer says so before the outage)
        deadline = time.monotonic() + REFRESH_S + 10
        while time.monotonic() < deadline:
            versions = {
                post(f"{container.url}/predict", {"data": [EXAMPLE]})[1]["model_version"]
                for _ in range(8)
            }
            if versions == {v1}:
                break
            time.sleep(0.3)

        # MLflow goes away: answers keep coming from the model it had, and it stays ready
        server.stop()
        time.sleep(3 * REFRESH_S + 1)
        for _ in range(10):
            status, body = post(f"{container.url}/predict", {"data": [EXAMPLE]})
            assert status == 200 and body["model_version"] == v1, (status, body)
        assert get(f"{container.url}/readyz")[0] == 200
        assert "champion refresh failed" in container.logs()
    finally:
        container.remove()
        if not server.alive():
            server.start()  # same port and store: later tests find the registry as it was


def test_the_image_captures_every_score_to_an_s3_lake_and_a_graceful_stop_loses_none(
    service_image: str, s3_server: S3Server
) -> None:
    """The capture as the image runs it: pyarrow writing Parquet, s3fs sending to S3."""
    lake = Settings(
        lake_uri=f"s3://{BUCKET}/image-lake-{uuid.uuid4().hex[:8]}",
        s3_endpoint_url=s3_server.endpoint,
        s3_access_key_id=s3_server.access_key,
        s3_secret_access_key=s3_server.secret_key,
    )
    container = run_service(
        service_image,
        {
            "FRAUD_LAKE_URI": lake.lake,
            "FRAUD_S3_ENDPOINT_URL": s3_server.endpoint,
            "FRAUD_S3_ACCESS_KEY_ID": s3_server.access_key,
            "FRAUD_S3_SECRET_ACCESS_KEY": s3_server.secret_key,
            "FRAUD_CAPTURE_SPILL_DIR": "/tmp/capture-spill",
            "FRAUD_CAPTURE_FLUSH_INTERVAL_S": "0.5",
        },
        host_network=True,
    )
    try:
        container.wait_ready()
        _, records = client_records(5, seed=13, id_start=71_000_000)
        answers = [post(f"{container.url}/score", {"data": records}) for _ in range(20)]
        assert {status for status, _ in answers} == {200}, answers[0]
        served = {body["model"]["version"] for _, body in answers}
        podman("stop", "-t", "30", container.name, timeout=120)  # SIGTERM: the capture flushes
        logs = container.logs()
    finally:
        container.remove()
    table = ScoredStore(Lake.from_settings(lake)).read(columns=["request_id", "model_version"])
    per_request = Counter(table.column("request_id").to_pylist())
    assert table.num_rows == 20 * len(records), (table.num_rows, logs[-3000:])
    assert len(per_request) == 20 and set(per_request.values()) == {len(records)}
    assert set(table.column("model_version").to_pylist()) == served
    report("capture to S3 from the image", f"{table.num_rows} records of 20 requests, none lost")
