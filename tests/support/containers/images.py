"""The two images of the project, built as a user builds them, on the offline base image.

- the service: ``fraud-detection bento import-champion`` → ``bentoml build`` (the shipped
  bentofile.yaml) → ``bentoml containerize --backend podman --opt from=<base>``;
- the jobs image: ``podman build -f deployments/Dockerfile`` with the base images as build args.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from tests.support.containers.engine import (
    BASE_IMAGE,
    PROJECT,
    UV_IMAGE,
    VENV_BIN,
    engine_env,
    podman,
    run,
    uv_cache_dir,
)


def _bento_env(bentoml_home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    inherited = {
        k: v for k, v in os.environ.items() if not k.startswith(("FRAUD_", "MLFLOW_TRACKING"))
    }
    return engine_env(
        {
            **inherited,
            "BENTOML_HOME": str(bentoml_home),
            "BENTOML_DO_NOT_TRACK": "true",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            **(extra or {}),
        }
    )


def unique_tag(name: str) -> str:
    return f"localhost/{name}:test-{uuid.uuid4().hex[:8]}"


def build_service_image(
    bentoml_home: Path, registry_env: dict[str, str]
) -> tuple[str, str, dict[str, float]]:
    """The champion bundled into a bento, containerized. Returns (image, bento tag, seconds)."""
    times: dict[str, float] = {}
    started = time.monotonic()
    run(
        [str(VENV_BIN / "fraud-detection"), "bento", "import-champion"],
        env=_bento_env(bentoml_home, registry_env),
        cwd=PROJECT,
        timeout=300,
    )
    built = run(
        [str(VENV_BIN / "bentoml"), "build", "--output", "tag"],
        env=_bento_env(bentoml_home),
        cwd=PROJECT,
        timeout=600,
    )
    bento = built.stdout.strip().splitlines()[-1].removeprefix("__tag__:")
    times["bentoml build"] = time.monotonic() - started

    image = unique_tag("fraud-detection")
    started = time.monotonic()
    run(
        [
            str(VENV_BIN / "bentoml"),
            "containerize",
            bento,
            "--backend",
            "podman",
            "-t",
            image,
            # The bentofile names python:3.11-slim (Docker Hub); here the offline stand-in.
            "--opt",
            f"from={BASE_IMAGE}",
            # One layer on the base: what deployments/bento-setup.sh removes is really gone.
            "--opt",
            "squash",
            # Wheels come from the host's uv cache instead of the network again.
            "--opt",
            f"volume={uv_cache_dir()}:/root/.cache/uv",
        ],
        env=_bento_env(bentoml_home),
        cwd=PROJECT,
        timeout=1200,
    )
    times["bentoml containerize"] = time.monotonic() - started
    return image, bento, times


def build_jobs_image() -> tuple[str, float]:
    """deployments/Dockerfile with the offline base and uv images → (image, seconds)."""
    image = unique_tag("fraud-detection-jobs")
    started = time.monotonic()
    podman(
        "build",
        "-f",
        str(PROJECT / "deployments" / "Dockerfile"),
        "--build-arg",
        f"PYTHON_IMAGE={BASE_IMAGE}",
        "--build-arg",
        f"UV_IMAGE={UV_IMAGE}",
        "-t",
        image,
        str(PROJECT),
        timeout=1800,
    )
    return image, time.monotonic() - started


def remove_image(image: str) -> None:
    podman("rmi", "-f", image, check=False, timeout=300)
