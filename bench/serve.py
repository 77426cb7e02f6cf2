"""Latency and throughput of the prediction service, against the in-process floor and a minimal
numpy + inplace_predict HTTP server measured in the same run.

    .venv/bin/python bench/serve.py [--quick] [--endpoint score] [--explain] [--compare-with CHECKOUT]

Everything runs on 127.0.0.1 with bounded request counts; servers are stopped at the end.
``bento`` is the service as configured by default (every score captured to the bench's own
lake), ``nocap`` the same with ``FRAUD_CAPTURE_ENABLED=false``. ``--endpoint score`` sends the service's requests to ``/score`` instead of ``/predict`` (the
minimal server answers ``/predict`` either way). ``--compare-with CHECKOUT`` serves the same model
from another checkout of the project too (e.g. ``git worktree add /tmp/old <commit>``), as a
third server taking turns with the two, and sends only records both versions accept.
``--capture-only`` leaves out the minimal server and the 1,000-record scenario: ``bento`` and
``nocap`` (the capture's cost), and with ``--compare-with`` ``other`` and ``othernocap`` (the
other checkout with capture on and off: what differs apart from the capture); with ``--rounds 20 --scale
10`` a round lasts about a second. ``--nocap-first`` starts ``nocap`` before ``bento`` (otherwise
``bento`` is started, warmed and takes its turn first). Each ratio is printed as the median rounds' and as the median
of the rounds' paired ratios. ``--explain`` also sends the same bodies to the service's ``/explain`` (default reasons), in
turn with the others, so the cost of the reasons is read against ``/score`` in the same run;
``approx`` is the same with ``"method": "approximate"``.
Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
ROUNDS = 5
sys.path.insert(0, str(PROJECT))

from devstack.processes import Managed, free_port, http_ok, wait_until  # noqa: E402
from fraud_detection.core.features import FEATURES, INPUT_FEATURES  # noqa: E402
from fraud_detection.core.records import matrix_from_records  # noqa: E402

# The yardstick: no validation, no middleware, the same model call with the same thread setting
# as the service (one thread per prediction).
MINIMAL_APP = """
import json, sys
import numpy as np, uvicorn, xgboost as xgb
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
NAMES = json.loads(sys.argv[3])
booster = xgb.Booster(); booster.load_model(sys.argv[2]); booster.set_param({"nthread": 1})
async def predict(request):
    data = json.loads(await request.body())["data"]
    m = np.array([[r[c] for c in NAMES] for r in data], dtype=np.float64)
    m = np.column_stack([m, m[:, NAMES.index("AMT_CREDIT")] / m[:, NAMES.index("AMT_INCOME_TOTAL")]])
    p = booster.inplace_predict(m.astype(np.float32))
    return Response(json.dumps({"predictions": [{"probability": round(float(x), 4)} for x in p]}),
                    media_type="application/json")
async def ready(request):
    return Response("ok")
app = Starlette(routes=[Route("/predict", predict, methods=["POST"]), Route("/readyz", ready)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def _records(count: int) -> list[dict[str, Any]]:
    from fraud_detection.core.features import request_records
    from fraud_detection.sources.synthetic import generate

    frame, _ = generate(count, month_index=1, seed=3)
    return request_records(frame)


def _load(
    port: int, body: bytes, requests: int, concurrency: int, path: str = "/predict"
) -> dict[str, Any]:
    """Send ``requests`` POSTs to ``path`` over keep-alive connections from ``concurrency``
    threads."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    per_thread = requests // concurrency

    def worker() -> None:
        nonlocal failures
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        for _ in range(per_thread):
            start = time.perf_counter()
            connection.request("POST", path, body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - start)
            if response.status != 200:
                with lock:
                    failures += 1
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    return {"latencies": latencies, "req_s": len(latencies) / wall, "failures": failures}


def _combine(rounds: list[dict[str, Any]]) -> dict[str, float]:
    """Latency percentiles over all rounds' requests; throughput is the median round's."""
    ordered = sorted(latency for r in rounds for latency in r["latencies"])
    return {
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[int(0.99 * (len(ordered) - 1))],
        "req_s": statistics.median(r["req_s"] for r in rounds),
        "failures": sum(r["failures"] for r in rounds),
    }


def _ratio_line(
    title: str, label: str, ours: list[dict[str, Any]], theirs: list[dict[str, Any]]
) -> str:
    """Throughput of the median rounds, and the median of the rounds' paired ratios (each
    round of one server beside the same round of the other: the VM's drift hits both)."""
    ratio = statistics.median(r["req_s"] for r in ours) / statistics.median(
        r["req_s"] for r in theirs
    )
    paired = sorted(a["req_s"] / b["req_s"] for a, b in zip(ours, theirs, strict=True))
    return (
        f"{title} throughput, {label}: {ratio:.2f}; median of the {len(paired)} rounds' ratios"
        f" {statistics.median(paired):.3f} (round by round {paired[0]:.2f}–{paired[-1]:.2f})"
    )


def _start(
    command: list[str], env: dict[str, str], port: int, log: Path, cwd: Path = PROJECT
) -> Managed:
    log.unlink(missing_ok=True)
    server = Managed(log.stem, log.parent)
    process = server.spawn(command, env, cwd=cwd)
    wait_until(lambda: _ready(port), timeout=120, what=command[1], log=log, process=process)
    return server


def _ready(port: int) -> bool:
    return http_ok(f"http://127.0.0.1:{port}/readyz")


def _floor(booster: Any, records: list[dict[str, Any]], repeat: int) -> tuple[float, float]:
    """Median ms of (records → matrix → inplace_predict) and of inplace_predict alone."""
    whole, predict_only = [], []
    matrix = matrix_from_records(records)
    for _ in range(repeat):
        start = time.perf_counter()
        booster.inplace_predict(matrix_from_records(records))
        whole.append(time.perf_counter() - start)
        start = time.perf_counter()
        booster.inplace_predict(matrix)
        predict_only.append(time.perf_counter() - start)
    return 1000 * statistics.median(whole), 1000 * statistics.median(predict_only)


def _explain_floor(booster: Any, records: list[dict[str, Any]], repeat: int) -> float:
    """Median ms of (records → matrix → TreeSHAP contributions → the top reasons)."""
    from fraud_detection.core.explain import DEFAULT_REASONS, contributions, reasons

    booster.set_param({"nthread": 1})  # as the service predicts
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        matrix = matrix_from_records(records)
        reasons(contributions(booster, matrix), matrix, DEFAULT_REASONS)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def _capture_cost(booster: Any, records: list[dict[str, Any]], workdir: Path) -> None:
    """CPU time the capture adds, in process: ``record`` on the request path, and the flush
    (Arrow table, Parquet file in the spill folder) plus the send to a local lake, per record."""
    from fraud_detection.adapters.lake import Lake
    from fraud_detection.adapters.scored import ScoredStore
    from fraud_detection.core.bands import RiskBands
    from fraud_detection.serving.capture import Capture, CaptureConfig
    from fraud_detection.serving.model import LoadedModel, ModelHolder

    holder = ModelHolder(RiskBands(0.25, 0.45))
    holder.swap(LoadedModel(booster, "1", 0.3, "bench"))
    store = ScoredStore(Lake(str(workdir / "capture-cost" / "lake")))
    config = CaptureConfig(
        spill_dir=workdir / "capture-cost" / "spill", max_buffered_records=10**7, writer="bench"
    )
    print("capture in process (CPU µs): record() per request | flush + send per record")
    for n, requests in ((1, 10_000), (100, 1_000)):
        capture = Capture(config, store, holder.bands)
        scored = [holder.score(records[:n]) for _ in range(requests)]
        began = time.process_time()
        for one in scored:
            capture.record(one, "/predict")
        per_request = (time.process_time() - began) / requests
        began = time.process_time()
        capture.flush()
        capture.send()
        per_record = (time.process_time() - began) / (requests * n)
        print(f"  {n:5d} rows: {1e6 * per_request:7.2f} | {1e6 * per_record:7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    parser.add_argument("--scale", type=float, help="requests per scenario × this (quick: 0.2)")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="turns each server takes")
    parser.add_argument(
        "--capture-only",
        action="store_true",
        help="no minimal server, no 1,000-record scenario (the capture's target's scenarios)",
    )
    parser.add_argument("--endpoint", choices=["predict", "score"], default="predict")
    parser.add_argument("--compare-with", type=Path, help="another checkout to serve as well")
    parser.add_argument("--explain", action="store_true", help="time /explain on the service too")
    parser.add_argument(
        "--nocap-first", action="store_true", help="start the capture-off server before the others"
    )
    args = parser.parse_args()
    scale = args.scale or (0.2 if args.quick else 1.0)
    workdir = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    os.environ.update({"MLFLOW_DISABLE_TELEMETRY": "true", "BENTOML_DO_NOT_TRACK": "true"})

    from fraud_detection.adapters.stores import open_registry
    from fraud_detection.config import Settings
    from fraud_detection.core.features import validate_frame
    from fraud_detection.core.lineage import RunRecord
    from fraud_detection.core.tags import VersionTags
    from fraud_detection.core.training import train
    from fraud_detection.sources.synthetic import generate

    settings = Settings(data_dir=workdir / "data")
    base, _ = generate(60_000, month_index=0, seed=1)
    model = train(
        validate_frame(base),
        settings.xgb,
        train_positive_rate=0.25,
        validation_fraction=0.2,
        seed=1,
    )
    registry = open_registry(settings)
    run_id, uri = registry.log_model_run(model.booster, RunRecord("bench", tags={"month": "bench"}))
    version = registry.register_version(
        uri, run_id, VersionTags(month="bench", threshold=model.threshold)
    )
    registry.promote(version, expected_champion=None)
    model_file = workdir / "model.ubj"
    model.booster.save_model(str(model_file))

    records = _records(1_000)
    if args.compare_with:  # an older version may refuse what this one accepts
        records = [r for r in _records(1_300) if r["DAYS_EMPLOYED"] <= 0][:1_000]
    bodies = {n: json.dumps({"data": records[:n]}).encode() for n in (1, 100, 1000)}
    scenarios = [
        ("1 record, c=1", 1, 1, int(2000 * scale)),
        ("1 record, c=8", 1, 8, int(4000 * scale)),
        ("100 records, c=1", 100, 1, int(500 * scale)),
        ("1000 records, c=1", 1000, 1, int(100 * scale)),
    ]
    if args.capture_only:
        scenarios = scenarios[:3]

    servers = {
        "bento": (
            [
                str(Path(sys.executable).parent / "bentoml"),
                "serve",
                "service.service:FraudDetector",
                "--host",
                "127.0.0.1",
                "--port",
                "{port}",
            ],
            # capture on (the default), into the bench's own lake
            {
                "FRAUD_MLFLOW_TRACKING_URI": settings.tracking_uri,
                "FRAUD_DATA_DIR": str(workdir / "data"),
            },
            PROJECT,
        ),
        "minimal": (
            [
                sys.executable,
                "-c",
                MINIMAL_APP,
                "{port}",
                str(model_file),
                json.dumps(list(INPUT_FEATURES)),
            ],
            {},
            PROJECT,
        ),
    }
    # The same service with capture switched off: what capturing every score costs.
    no_capture = {"FRAUD_CAPTURE_ENABLED": "false", "BENTOML_HOME": str(workdir / "nocap-bentoml")}
    servers["nocap"] = (servers["bento"][0], {**servers["bento"][1], **no_capture}, PROJECT)
    paths = {"bento": f"/{args.endpoint}", "minimal": "/predict", "nocap": f"/{args.endpoint}"}
    if args.capture_only:
        del servers["minimal"], paths["minimal"]
    if args.nocap_first:  # started, warmed and first to take a turn: does the order matter?
        servers = {"nocap": servers.pop("nocap"), **servers}
    if args.compare_with:
        other = args.compare_with.resolve()
        home = {"BENTOML_HOME": str(workdir / "other-bentoml"), "PYTHONPATH": str(other)}
        servers["other"] = (servers["bento"][0], {**servers["bento"][1], **home}, other)
        paths["other"] = paths["bento"]
        # Both with capture off too: what differs between the two apart from the capture.
        home_off = {**home, **no_capture, "BENTOML_HOME": str(workdir / "othernocap-bentoml")}
        servers["othernocap"] = (servers["bento"][0], {**servers["bento"][1], **home_off}, other)
        paths["othernocap"] = paths["bento"]
    approximate = {
        n: json.dumps({"data": records[:n], "method": "approximate"}).encode() for n in bodies
    }
    body_of = {"explain": bodies, "approx": approximate}
    processes: dict[str, tuple[Managed, int]] = {}
    try:
        for name, (template, env, cwd) in servers.items():
            port = free_port()
            command = [part.replace("{port}", str(port)) for part in template]
            processes[name] = (_start(command, env, port, workdir / f"{name}.log", cwd), port)
            _load(port, bodies[1], 50, 1, paths[name])  # warm-up
        if args.explain:  # the same service process, another path
            for name in ("explain", "approx"):
                processes[name], paths[name] = processes["bento"], "/explain"
                _load(processes["bento"][1], body_of[name][1], 50, 1, "/explain")
        # The servers stay up and take turns, round by round, so the VM's drift hits all alike;
        # each round starts with the next server, so none is always the first after another.
        rounds: dict[tuple[str, str], list[dict[str, Any]]] = {}
        turns = list(processes.items())
        for label, n, c, count in scenarios:
            for number in range(args.rounds):
                start = number % len(turns)
                for name, (_, port) in turns[start:] + turns[:start]:
                    rounds.setdefault((label, name), []).append(
                        _load(
                            port, body_of.get(name, bodies)[n], count // args.rounds, c, paths[name]
                        )
                    )
    finally:
        for process in {id(p): p for p, _ in processes.values()}.values():
            process.stop()
    names = list(processes)
    results = {
        name: {label: _combine(rounds[label, name]) for label, *_ in scenarios} for name in names
    }

    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}; "
        f"model: {settings.xgb.n_estimators} trees, depth {settings.xgb.max_depth}, {len(FEATURES)} features"
    )
    print(f"servers, in the order they were started: {', '.join(names)}")
    not_employed = [i for i, r in enumerate(records) if r["DAYS_EMPLOYED"] > 0]
    print(
        f"service endpoint: {paths['bento']}; records with the 'not employed' DAYS_EMPLOYED: "
        f"{len(not_employed)} of {len(records)} (first at index {min(not_employed, default='-')})"
    )
    print(
        f"{'scenario':20s} {'server':8s} {'p50 ms':>8s} {'p99 ms':>8s} {'req/s':>8s} {'rows/s':>10s} {'fail':>5s}"
    )
    for label, n, _, _ in scenarios:
        for name in names:
            r = results[name][label]
            print(
                f"{label:20s} {name:8s} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['req_s']:8.0f} "
                f"{r['req_s'] * n:10.0f} {int(r['failures']):5d}"
            )
    for label in ("1 record, c=1", "1 record, c=8", "100 records, c=1"):
        for other, title in (
            ("minimal", "bento / minimal"),
            ("nocap", "capture on / off"),
            ("other", f"bento / {args.compare_with}"),
        ):
            if other in results:
                print(_ratio_line(title, label, rounds[label, "bento"], rounds[label, other]))
        if "othernocap" in results:
            ours, theirs = rounds[label, "nocap"], rounds[label, "othernocap"]
            print(_ratio_line(f"capture off: this / {args.compare_with}", label, ours, theirs))
            ours, theirs = rounds[label, "other"], rounds[label, "othernocap"]
            print(_ratio_line(f"capture on / off of {args.compare_with}", label, ours, theirs))
    if args.explain:
        for name, shown in (("explain", "/explain"), ("approx", "/explain approximate")):
            for label, *_ in scenarios:
                ratio = results[name][label]["req_s"] / results["bento"][label]["req_s"]
                paired = sorted(
                    e["req_s"] / b["req_s"]
                    for e, b in zip(rounds[label, name], rounds[label, "bento"], strict=True)
                )
                print(
                    f"{shown} / {paths['bento']} rows/s, {label}: {ratio:.2f} "
                    f"(round by round {paired[0]:.2f}–{paired[-1]:.2f})"
                )
    from fraud_detection.adapters.lake import Lake
    from fraud_detection.adapters.scored import ScoredStore

    kept = ScoredStore(Lake(str(workdir / "data" / "lake"))).read(columns=["request_id"]).num_rows
    both = " and the other checkout's (one lake)" if args.compare_with else ""
    print(f"records the bento server{both} captured (in its lake after the stop): {kept:,}")
    print("in-process floor (median ms): records → matrix → inplace_predict | inplace_predict only")
    for n in (1, 100, 1000):
        whole, predict_only = _floor(model.booster, records[:n], repeat=200 if n < 1000 else 50)
        print(f"  {n:5d} rows: {whole:7.3f} | {predict_only:7.3f}")
    if args.explain:
        print(
            "in-process floor of /explain (median ms): records → matrix → contributions → reasons"
        )
        for n in (1, 100, 1000):
            print(f"  {n:5d} rows: {_explain_floor(model.booster, records[:n], 50):7.3f}")
    _capture_cost(model.booster, records, workdir)


if __name__ == "__main__":
    main()
