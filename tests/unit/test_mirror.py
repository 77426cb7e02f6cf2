"""The unit tier mirrors the package: each module has ``tests/unit/<layer>/test_<module>.py``
(or a test file of its name on real servers in ``tests/integration``), or a line below saying
where it is covered instead. A new module without either fails here, and so does a reason left
behind for a module that has since got its own test file."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Each package of the project and the folder of tests/unit its modules' tests live in.
TEST_FOLDERS = {
    "fraud_detection": "",
    "fraud_detection_cli": "cli",
    "flows": "flows",
    "service": "service",
}
SETTINGS_FIELDS = "fields only: read and validated through Settings in tests/unit/test_config.py"

COVERED_ELSEWHERE = {
    # Prefect shells: each flow runs on a real Prefect server in tests/integration.
    "flows/bootstrap.py": "integration/test_retrain_flow.py (bootstrap, then the months)",
    "flows/locks.py": "integration/test_prefect_lock.py (Prefect's global concurrency limit)",
    "flows/monitor.py": "integration/test_monitor_flow.py",
    "flows/retrain.py": "integration/test_retrain_flow.py, test_group_flow.py, test_capacity_flow.py",
    "flows/retrain_tasks.py": "integration/test_retrain_flow.py, test_fault_injection.py",
    "flows/retrain_checks.py": "integration/test_capacity_flow.py (replay and maturity tasks)",
    "flows/review.py": "integration/test_review_flow.py, test_review_retrain.py, test_review_suspend.py",
    # Adapters
    "fraud_detection/adapters/advisory_lock.py": "integration/test_promotion_lock.py (PostgreSQL)",
    "fraud_detection/adapters/conditional_files.py": "unit/adapters/test_lease.py, integration/test_lake_s3.py",
    "fraud_detection/adapters/dask_workers.py": "unit/adapters/test_dask_training.py, integration/test_dask_training.py",
    "fraud_detection/adapters/decision_log.py": "unit/steps/test_signing.py, unit/cli/test_review.py",
    "fraud_detection/adapters/mlflow_runs.py": "unit/adapters/test_registry.py (runs, lineage)",
    "fraud_detection/adapters/model_files.py": "unit/steps/test_external_model.py, unit/cli/test_main.py",
    "fraud_detection/adapters/monitoring.py": "unit/serving/test_capture.py (request tallies)",
    "fraud_detection/adapters/partition_files.py": "unit/adapters/test_lake.py, unit/steps/test_pool.py",
    "fraud_detection/adapters/scored.py": "unit/serving/test_capture.py, unit/steps/test_audit.py",
    "fraud_detection/adapters/scored_days.py": "unit/adapters/test_compaction.py, unit/steps/test_audit.py",
    "fraud_detection/adapters/stores.py": "unit/adapters/test_promotion_locks.py (which lock)",
    # Core
    "fraud_detection/core/alarm.py": "unit/steps/test_judging.py (shuffled labels quarantined)",
    "fraud_detection/core/bounds.py": "unit/core/test_contract.py, test_contract_properties.py",
    "fraud_detection/core/drift.py": "unit/steps/test_monitor.py, test_monitor_odd_windows.py",
    "fraud_detection/core/group_spec.py": "unit/core/test_groups.py, unit/steps/test_groups.py",
    "fraud_detection/core/lineage.py": "unit/steps/test_pool.py (lineage and its hash)",
    "fraud_detection/core/monitoring.py": "unit/steps/test_monitor.py",
    "fraud_detection/core/outcomes.py": "unit/steps/test_outcomes.py (against a hand count)",
    "fraud_detection/core/params.py": "unit/test_config.py (values), unit/core/test_training.py",
    "fraud_detection/core/plots.py": "unit/steps/test_challengers.py, test_record.py (the figures)",
    "fraud_detection/core/recipe.py": "unit/core/test_training.py, unit/steps/test_pool.py",
    "fraud_detection/core/records.py": "unit/core/test_contract.py, unit/serving/test_capture.py",
    "fraud_detection/core/redact.py": "unit/test_config.py (redaction of URIs and secrets)",
    "fraud_detection/core/scored.py": "unit/serving/test_capture.py",
    "fraud_detection/core/tags.py": "unit/adapters/test_registry.py, unit/core/test_holds.py",
    "fraud_detection/core/training_batches.py": "unit/steps/test_pool.py (batches read in chunks)",
    # Serving
    "fraud_detection/serving/backoff.py": "unit/serving/test_sender.py (the waits between tries)",
    "fraud_detection/serving/batches.py": "unit/serving/test_capture.py",
    "fraud_detection/serving/bundle.py": "container/test_service_image.py, unit/service/test_bento_only.py",
    "fraud_detection/serving/capture_config.py": "unit/serving/test_capture.py",
    "fraud_detection/serving/capture_counts.py": "unit/serving/test_sender.py, test_journal.py",
    "fraud_detection/serving/follower.py": "integration/test_service.py (champion swap, MLflow down)",
    "fraud_detection/serving/outbox.py": "unit/serving/test_capture.py (spill folder, retry once)",
    "fraud_detection/serving/recovery.py": "unit/serving/test_journal.py, integration/test_capture_crash.py",
    # Settings
    "fraud_detection/settings/capacity.py": SETTINGS_FIELDS,
    "fraud_detection/settings/fairness.py": SETTINGS_FIELDS,
    "fraud_detection/settings/judging.py": SETTINGS_FIELDS,
    "fraud_detection/settings/monitoring.py": SETTINGS_FIELDS,
    "fraud_detection/settings/review.py": SETTINGS_FIELDS,
    "fraud_detection/settings/serving.py": SETTINGS_FIELDS,
    "fraud_detection/settings/storage.py": SETTINGS_FIELDS,
    "fraud_detection/settings/training.py": SETTINGS_FIELDS,
    "fraud_detection/settings/watching.py": SETTINGS_FIELDS,
    "fraud_detection/sources/schedules.py": "unit/sources/test_synthetic.py (the year each draws)",
    # Steps
    "fraud_detection/steps/cluster_training.py": "integration/test_dask_training.py (LocalCluster)",
    "fraud_detection/steps/monitor_page.py": "unit/steps/test_monitor_odd_windows.py (privacy floor)",
    "fraud_detection/steps/monitor_report.py": "unit/steps/test_monitor.py",
    "fraud_detection/steps/monitor_settings.py": "unit/steps/test_settings_reads.py (protocols only)",
    "fraud_detection/steps/ports.py": "protocols only: mypy checks the adapters and the fakes against them",
    "fraud_detection/steps/report.py": "unit/steps/test_record.py (recorded, then reported)",
    # Command line and service shells
    "fraud_detection_cli/errors.py": "unit/cli/test_main.py (a failed retrain's one line)",
    "fraud_detection_cli/lookups.py": "unit/cli/test_main.py (status), unit/steps/test_audit.py",
    "fraud_detection_cli/runs.py": "unit/cli/test_main.py, integration/test_demo.py",
    "fraud_detection_cli/shell.py": "unit/cli/test_main.py (every command goes through it)",
    "service/bundle.py": "container/test_service_image.py (a bento built and served)",
    "service/card.py": "integration/test_review_service.py (GET /model/card)",
    "service/openapi.py": "unit/core/test_contract.py, integration/test_service.py (schemathesis)",
    "service/record_schema.py": "unit/core/test_contract_properties.py",
    "service/schemas.py": "integration/test_service.py (pydantic models: every answer goes through them)",
}


def _modules() -> list[Path]:
    found = []
    for package in TEST_FOLDERS:
        found += [
            path.relative_to(ROOT)
            for path in sorted((ROOT / package).rglob("*.py"))
            if path.name != "__init__.py"
        ]
    return found


def _has_test_file(module: Path) -> bool:
    package, *inner = module.parts
    layer = inner[0] if len(inner) > 1 else TEST_FOLDERS[package]
    name = f"test_{module.stem}.py"
    return (ROOT / "tests/unit" / layer / name).exists() or (
        ROOT / "tests/integration" / name
    ).exists()


def _without_test_file() -> set[str]:
    return {module.as_posix() for module in _modules() if not _has_test_file(module)}


def test_every_module_has_a_test_file_of_its_name_or_a_reason() -> None:
    missing = sorted(_without_test_file() - set(COVERED_ELSEWHERE))
    assert not missing, f"no test file and no reason where they are tested: {missing}"


def test_no_reason_is_kept_for_a_module_with_its_own_test_file_or_gone() -> None:
    stale = sorted(set(COVERED_ELSEWHERE) - _without_test_file())
    assert not stale, f"these have a test file of their name now (or no longer exist): {stale}"


def _named_test_files(reason: str) -> list[Path]:
    """``unit/steps/test_a.py, test_b.py (why)`` → both files (b in a's folder)."""
    names = re.split(r", | and ", re.sub(r"\s*\([^)]*\)", "", reason))
    folder, files = Path("unit"), []
    for name in (n.strip() for n in names):
        if "/" in name:
            folder = Path(name).parent
            files.append(ROOT / "tests" / name)
        else:
            files.append(ROOT / "tests" / folder / name)
    return files


def test_every_reason_names_test_files_that_exist() -> None:
    absent = [
        str(path.relative_to(ROOT))
        for reason in COVERED_ELSEWHERE.values()
        if "test_" in reason.split("(")[0] and reason != SETTINGS_FIELDS
        for path in _named_test_files(reason)
        if not path.exists()
    ]
    assert not absent, f"reasons name test files that do not exist: {absent}"
