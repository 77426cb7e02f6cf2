"""The data lake on a real S3 endpoint (SeaweedFS with keys), through the same code as locally."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from devstack.servers import S3Server
from fraud_detection.adapters.lake import Lake, LakeError, PartitionExistsError
from fraud_detection.adapters.partition_files import decode
from fraud_detection.config import Settings
from fraud_detection.sources.synthetic import generate
from tests.support.servers import BUCKET

pytestmark = pytest.mark.integration


def _settings(s3: S3Server, secret: str | None = None) -> Settings:
    return Settings(
        lake_uri=f"s3://{BUCKET}/lake-{uuid.uuid4().hex[:8]}",
        s3_endpoint_url=s3.endpoint,
        s3_access_key_id=s3.access_key,
        s3_secret_access_key=secret or s3.secret_key,
    )


def test_months_round_trip_and_are_immutable_on_s3(s3_server: S3Server) -> None:
    # Given an S3 lake configured only through settings
    lake = Lake.from_settings(_settings(s3_server))
    frame, truth = generate(300, month_index=1, seed=5)
    other, _ = generate(300, month_index=1, seed=6)

    # When a month and the base are written
    ref = lake.write("2025-03", frame, truth)
    lake.write("base", other)

    # Then they read back identically, with the hash of the stored bytes
    assert lake.list_months() == ["2025-03"]
    data, back_ref = lake.fetch("2025-03")
    back = decode(back_ref, data)
    assert back.equals(frame) and back_ref == ref and ref.path.startswith("s3://")
    assert lake.read_truth("2025-03").equals(truth)
    # writing the same bytes again is a no-op, different bytes are refused (conditional PUT)
    assert lake.write("2025-03", frame, truth) == ref
    with pytest.raises(PartitionExistsError, match="month=2025-03"):
        lake.write("2025-03", other)
    assert lake.read("2025-03").equals(frame)


def test_a_wrong_secret_is_refused_with_a_clear_error(s3_server: S3Server) -> None:
    good = Lake.from_settings(_settings(s3_server))
    frame, _ = generate(50, month_index=1, seed=5)
    good.write("2025-04", frame)
    settings = _settings(s3_server, secret="wrong-secret")
    bad = Lake(good.uri, settings.storage_options())
    with pytest.raises((LakeError, PermissionError, OSError)) as error:
        bad.read("2025-04")
    assert "wrong-secret" not in str(error.value)


def test_the_s3_server_starts_on_fresh_ports_when_one_it_picked_was_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a port already listened on, handed out as the first port SeaweedFS is to bind
    import socket

    import devstack.servers

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    ports = iter([taken.getsockname()[1]])
    real = devstack.servers.free_port
    monkeypatch.setattr(devstack.servers, "free_port", lambda: next(ports, None) or real())
    server = devstack.servers.S3Server("s3", tmp_path / "s3")
    try:
        # When it starts, Then it answers on ports of a second pick
        server.start()
        assert server.port != taken.getsockname()[1]
        server.client().list_buckets()
    finally:
        server.stop()
        taken.close()
