"""The one-command demo on embedded defaults: data → champion → monthly retrains → served score."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from rich.console import Console

from devstack.processes import SERVICE_STOP_GRACE_S, Managed, wait_until
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.registry import Registry
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from fraud_detection.core.features import TARGET_COLUMN, request_records
from fraud_detection.core.redact import redact_uri
from fraud_detection.sources.synthetic import generate_lake_partitions
from fraud_detection.steps.months import next_month
from fraud_detection_cli.render import bootstrap_line, retrain_line

if TYPE_CHECKING:
    import pandas as pd


# With the default seed these sizes show both decisions within four months: some challengers
# replace the champion, others do not beat it by the margin.
def _seed(settings: Settings, months: int, console: Console) -> None:
    lake = Lake.from_settings(settings)
    if lake.has_base():
        console.print(f"lake already seeded: {len(lake.list_months())} months in {lake.uri}")
        return
    console.print("seeding synthetic data (base history + monthly partitions)…")
    for partition in generate_lake_partitions(
        months=months, rows_per_month=8_000, base_rows=20_000, seed=settings.seed
    ):
        lake.write(partition.name, partition.frame, partition.truth)


def _start_service(settings: Settings, port: int) -> Managed:
    service = Managed("service", settings.data_dir, stop_grace=SERVICE_STOP_GRACE_S)
    command = [sys.executable, "-m", "bentoml", "serve", "service.service:FraudDetector"]
    service.spawn(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        env={"FRAUD_MLFLOW_TRACKING_URI": settings.tracking_uri},
    )
    return service


def _first_prediction(url: str, records: list[dict[str, object]], service: Managed) -> str:
    """POST /predict until answered: before every worker has loaded its model, a request may be
    refused (not listening yet) or get a 503 from the worker that took it."""
    answers: list[str] = []

    def answered() -> bool:
        response = httpx.post(f"{url}/predict", json={"data": records}, timeout=10)
        response.raise_for_status()
        answers.append(response.text)
        return True

    wait_until(answered, timeout=150, what="the service", log=service.log, process=service.process)
    return answers[0]


def _sample_records(settings: Settings, count: int = 3) -> list[dict[str, object]]:
    lake = Lake.from_settings(settings)
    frame = lake.read(lake.list_months()[-1]).head(count)
    return request_records(frame)


def _serve_month(url: str, frame: pd.DataFrame, batch: int = 500) -> int:
    """Send a month's applications through /predict, as its applicants would have been scored
    before their outcomes were known (labels left out) → how many were scored."""
    records = request_records(frame.drop(columns=[TARGET_COLUMN]))
    scored = 0
    with httpx.Client(base_url=url, timeout=30) as client:
        for start in range(0, len(records), batch):
            response = client.post("/predict", json={"data": records[start : start + batch]})
            response.raise_for_status()
            scored += len(response.json()["predictions"])
    return scored


def _where_to_look(settings: Settings, console: Console, url: str, log: Path) -> None:
    champion = Registry(settings).champion()
    assert champion is not None
    console.rule("where to look")
    console.print(
        f"champion: {settings.model_name} version {champion.version} (month {champion.tags.month})"
    )
    console.print(
        f"MLflow UI:  .venv/bin/mlflow ui --backend-store-uri {redact_uri(settings.tracking_uri)} --port 5000  → http://127.0.0.1:5000"
    )
    console.print(
        "Prefect UI: .venv/bin/prefect server start  → http://127.0.0.1:4200 (this demo's runs are in PREFECT_HOME)"
    )
    console.print(f"Service:    {url}/ (Swagger UI) — log in {log}")
    console.print(
        f"Lake:       {redact_uri(settings.lake)} (captured scores under scored/, reports under monitoring/)"
    )


def _train_all_but_the_last(settings: Settings, *, months: int, console: Console) -> None:
    from flows.bootstrap import bootstrap
    from flows.retrain import monthly_retrain

    _seed(settings, months=max(months, 4), console=console)
    console.rule("bootstrap: the first champion")
    console.print(bootstrap_line(bootstrap()))
    console.rule(f"monthly retrain × {months - 1}")
    for _ in range(months - 1):
        result = monthly_retrain()
        console.print(retrain_line(result))
        if result.get("status") == "nothing to do":
            break


def _serve_the_next_month(settings: Settings, url: str, port: int, console: Console) -> Path:
    """Serve the champion the next month's applications (labels not sent), then judge it.

    Returns the service's log."""
    from flows.retrain import monthly_retrain

    lake = Lake.from_settings(settings)
    served_month = next_month(lake, open_registry(settings))
    console.rule("serving the champion")
    service = _start_service(settings, port)
    try:
        console.print_json(_first_prediction(url, _sample_records(settings), service))
        if served_month is not None:
            scored = _serve_month(url, lake.read(served_month))
            console.print(f"scored the {scored:,} applications of {served_month} (labels not sent)")
    finally:
        service.stop()  # a graceful stop: the service writes what it captured
    if served_month is not None:
        console.rule(f"monthly retrain {served_month}: judged after its applications were served")
        console.print(retrain_line(monthly_retrain(month=served_month)))
    return service.log


def run_demo(
    settings: Settings, *, months: int, port: int, console: Console, keep_serving: bool = False
) -> None:
    """Bootstrap, retrain all but the last month, serve the champion and send it the last
    month's applications, stop it gracefully, then judge that month (its report shows the
    served model on the month's outcomes) and run the monitor on the traffic."""
    from flows.monitor import monitor

    _train_all_but_the_last(settings, months=months, console=console)
    url = f"http://127.0.0.1:{port}"
    log = _serve_the_next_month(settings, url, port, console)
    console.rule("monitor: the served traffic against the champion's reference")
    console.print(monitor()["headline"], soft_wrap=True)
    _where_to_look(settings, console, url, log)
    if keep_serving:
        service = _start_service(settings, port)
        try:
            console.print("serving until Ctrl-C…")
            service.wait()
        except KeyboardInterrupt:
            pass
        finally:
            service.stop()
