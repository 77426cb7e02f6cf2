"""deployments/k8s/service.yaml played by `podman kube play`: pods ready through their probes,
two replicas following a promotion.

What the test changes in the manifest, and why (everything else is played as shipped):
- the image: the one this session built; ConfigMap: the host's MLflow URL, a 1 s refresh;
- the API key Secret and the names get a per-run suffix (podman's secrets and pods are global);
- ``hostNetwork: true`` (no ``ports``) with BENTOML_PORT and the probes on a free port: MLflow listens on the
  host's 127.0.0.1 only, which a pod on podman's bridge network cannot reach;
- one replica per play, played twice: with the host network two replicas of one play would
  bind the same port.
podman 4.3 turns the liveness probe into the container's health check (``curl -f`` inside the
container) and ignores startup and readiness probes, so "ready" here is /readyz answering 200
and that health check passing. Service and HorizontalPodAutoscaler are not played (podman has none).
"""

from __future__ import annotations

import base64
import copy
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.processes import free_port
from tests.container.test_service_image import follow_promotion
from tests.support.containers.engine import PROJECT, podman, run
from tests.support.containers.report import REFRESH_S, report
from tests.support.records import EXAMPLE
from tests.support.service import get, post

pytestmark = pytest.mark.container
MANIFEST = PROJECT / "deployments" / "k8s" / "service.yaml"
API_KEY = "kube-key-" + "q" * 24


def _documents() -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(MANIFEST.read_text()) if doc}


def _replica_manifest(
    image: str, mlflow_url: str, secret: str, suffix: str, port: int
) -> list[dict[str, Any]]:
    docs = _documents()
    config = copy.deepcopy(docs["ConfigMap"])
    deployment = copy.deepcopy(docs["Deployment"])
    config["metadata"]["name"] += f"-{suffix}"
    config["data"].update(
        {"MLFLOW_TRACKING_URI": mlflow_url, "FRAUD_REFRESH_INTERVAL_S": str(REFRESH_S)}
    )
    deployment["metadata"]["name"] += f"-{suffix}"
    deployment["spec"]["replicas"] = 1
    pod = deployment["spec"]["template"]["spec"]
    pod["hostNetwork"] = True
    (container,) = pod["containers"]
    container["image"] = image
    container["envFrom"][0]["configMapRef"]["name"] = config["metadata"]["name"]
    for item in container["env"]:
        if "valueFrom" in item:
            item["valueFrom"]["secretKeyRef"]["name"] = secret
    container["env"] += [
        {"name": "BENTOML_HOST", "value": "127.0.0.1"},
        {"name": "BENTOML_PORT", "value": str(port)},
    ]
    del container["ports"]  # podman refuses port mappings on the host network
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        container[probe]["httpGet"]["port"] = port
    return [config, deployment]


@pytest.fixture(scope="module")
def replicas(
    service_image: str, registry: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[tuple[str, str]]]:
    """The service manifest played twice → [(url, container name), …]."""
    run_id = uuid.uuid4().hex[:8]
    secret = f"fraud-detection-api-key-{run_id}"
    # podman reads a Secret for secretKeyRef as JSON of base64 values, like a Secret's data.
    data = {"FRAUD_API_KEY": base64.b64encode(API_KEY.encode()).decode()}
    run(["podman", "secret", "create", secret, "-"], input=json.dumps(data))
    played: list[Path] = []
    found: list[tuple[str, str]] = []
    try:
        started = time.monotonic()
        for index in range(2):
            port = free_port()
            suffix = f"{run_id}-{index}"
            path = tmp_path_factory.mktemp("kube") / f"service-{index}.yaml"
            path.write_text(
                yaml.safe_dump_all(
                    _replica_manifest(service_image, registry["server"].url, secret, suffix, port)
                )
            )
            podman("kube", "play", str(path), timeout=300)
            played.append(path)
            found.append((f"http://127.0.0.1:{port}", f"fraud-detection-{suffix}-pod-0-service"))
        for url, name in found:
            _wait_healthy(url, name)
        report("kube play", f"2 pods ready through their probes {time.monotonic() - started:.1f} s")
        yield found
    finally:
        for path in played:
            podman("kube", "down", str(path), check=False, timeout=120)
        podman("secret", "rm", secret, check=False)


def _wait_healthy(url: str, name: str, timeout: float = 120) -> None:
    """/readyz says 200, then the health check podman made from the manifest's probe passes.

    podman ignores startup probes and counts a failed check against the liveness probe's
    failureThreshold (then kills the container), so it is run once the service answers."""
    deadline = time.monotonic() + timeout
    last: tuple[int, str, int] = (0, "", 0)
    while time.monotonic() < deadline:
        ready = get(f"{url}/readyz")[0]
        if ready == 200:
            healthy = run(["podman", "healthcheck", "run", name], check=False, timeout=60)
            if healthy.returncode == 0:
                return
            last = (healthy.returncode, (healthy.stdout + healthy.stderr).strip()[-500:], ready)
        time.sleep(0.5)
    logs = podman("logs", name, check=False)
    raise TimeoutError(
        f"{name} not healthy after {timeout:.0f} s (health check exit {last[0]}: {last[1]!r}; "
        f"/readyz {last[2]}):\n{logs[-3000:]}"
    )


def test_played_pods_serve_the_champion_with_the_key_from_the_secret(
    replicas: list[tuple[str, str]], registry: dict[str, Any]
) -> None:
    key = {"X-API-Key": API_KEY}
    for url, name in replicas:
        inspected = json.loads(podman("inspect", name))[0]
        assert inspected["Config"]["Healthcheck"]["Test"], "no health check from the probes"
        assert post(f"{url}/predict", {"data": [EXAMPLE]})[0] == 401
        status, body = post(f"{url}/predict", {"data": [EXAMPLE]}, key)
        assert status == 200 and body["model_version"] == registry["versions"][0], body
        info = get(f"{url}/model", key)[1]
        assert info["source"] == "mlflow", (info, podman("logs", name, check=False)[-3000:])


def test_both_replicas_follow_a_promotion(
    replicas: list[tuple[str, str]], registry: dict[str, Any]
) -> None:
    follow_promotion(
        [url for url, _ in replicas], registry, clients_per_url=1, headers={"X-API-Key": API_KEY}
    )
