"""Every Kubernetes manifest in deployments/k8s validated against the Kubernetes schemas
(kubernetes-validate, offline, strict: unknown fields are errors); the Prefect base job
template's Job too, with its placeholders filled from the template's own defaults."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.support.containers.engine import PROJECT

pytestmark = pytest.mark.container
K8S = PROJECT / "deployments" / "k8s"
VERSION = "1.33.0"


def _documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                found.append((f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc))
    return found


DOCUMENTS = _documents()


def test_the_manifests_hold_what_the_deployment_needs() -> None:
    kinds = {name.split(":", 1)[1].split("/")[0] for name, _ in DOCUMENTS}
    assert {"ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler"} <= kinds
    assert {"ServiceAccount", "Role", "RoleBinding"} <= kinds
    service = next(d for n, d in DOCUMENTS if n == "service.yaml:Deployment/fraud-detection")
    assert service["spec"]["replicas"] == 2
    (container,) = service["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    secret_refs = [e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e]
    assert {"name": "fraud-detection-api-key", "key": "FRAUD_API_KEY"} in secret_refs
    config = next(d for n, d in DOCUMENTS if n == "service.yaml:ConfigMap/fraud-detection-service")
    assert "MLFLOW_TRACKING_URI" in config["data"]


@pytest.mark.parametrize(("name", "document"), DOCUMENTS, ids=[n for n, _ in DOCUMENTS])
def test_each_manifest_is_valid_kubernetes(name: str, document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, VERSION, strict=True)


def _fill(value: Any, defaults: dict[str, Any]) -> Any:
    """Prefect's placeholder substitution: a value that is one placeholder takes the variable's
    own type; placeholders inside a string are formatted in."""
    if isinstance(value, dict):
        return {k: _fill(v, defaults) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, defaults) for v in value]
    if isinstance(value, str):
        whole = re.fullmatch(r"\{\{\s*(\w+)\s*\}\}", value)
        if whole:
            return defaults[whole.group(1)]
        return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: str(defaults[m.group(1)]), value)
    return value


def test_the_prefect_base_job_template_makes_a_valid_job() -> None:
    template = json.loads((K8S / "base-job-template.json").read_text())
    properties = template["variables"]["properties"]
    text = json.dumps(template["job_configuration"])
    used = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", text))
    assert used <= set(properties), used - set(properties)
    defaults = {name: spec.get("default") for name, spec in properties.items()}
    # What Prefect fills in at run time
    defaults.update(
        name="monthly-retrain-abc",
        command=["prefect", "flow-run", "execute"],
        env=[{"name": k, "value": v} for k, v in defaults["env"].items()],
        labels={"prefect.io/flow-run-id": "0"},
    )
    job = _fill(template["job_configuration"]["job_manifest"], defaults)
    assert (
        job["spec"]["template"]["spec"]["containers"][0]["image"] == properties["image"]["default"]
    )
    kubernetes_validate.validate(job, VERSION, strict=True)


def test_the_prefect_worker_runs_a_kubernetes_pool() -> None:
    worker = next(d for n, d in DOCUMENTS if n == "prefect-worker.yaml:Deployment/prefect-worker")
    (container,) = worker["spec"]["template"]["spec"]["containers"]
    assert "kubernetes" in container["command"] and "kubernetes" in container["image"]
    assert Path(K8S / "base-job-template.json").exists()


def test_the_jobs_fit_on_the_dask_cluster_of_the_jobs_image() -> None:
    by_name = dict(DOCUMENTS)
    scheduler = by_name["dask-cluster.yaml:Deployment/dask-scheduler"]
    workers = by_name["dask-cluster.yaml:Deployment/dask-worker"]
    service = by_name["dask-cluster.yaml:Service/dask-scheduler"]
    template = json.loads((K8S / "base-job-template.json").read_text())
    jobs_image = template["variables"]["properties"]["image"]["default"]
    for deployment in (scheduler, workers):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["image"] == jobs_image and container["command"][0] == "dask"
    (worker,) = workers["spec"]["template"]["spec"]["containers"]
    assert {"secretRef": {"name": "fraud-detection-jobs"}} in worker["envFrom"]  # the lake's keys
    # The Service selects the scheduler's pods, and the flow runs' FRAUD_DASK_ADDRESS names it
    assert service["spec"]["selector"] == scheduler["spec"]["template"]["metadata"]["labels"]
    port = next(p["port"] for p in service["spec"]["ports"] if p["name"] == "scheduler")
    address = template["variables"]["properties"]["env"]["default"]["FRAUD_DASK_ADDRESS"]
    assert address == f"tcp://{service['metadata']['name']}:{port}"
    assert worker["command"][2] == address
