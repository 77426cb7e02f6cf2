"""The monthly run with approvals required, in the caller's process: the month the rule would
promote ends held (no waiting), the champion kept; `review` from the terminal promotes it, and
`history` lists the rule's promotion before the review; the served version has its card."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.bootstrap import bootstrap
from flows.retrain import monthly_retrain
from fraud_detection.adapters.decision_log import DecisionLog
from fraud_detection.adapters.stores import open_registry
from fraud_detection.core.signatures import ChangeKind
from fraud_detection_cli.main import app
from tests.support.flows import seed_lake, use_data_dir

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_harness")]


def test_a_month_held_for_approval_is_promoted_by_a_named_review(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = use_data_dir(monkeypatch, tmp_path / "data")
    first, second = seed_lake(settings, months=2)
    bootstrap()
    ruled = monthly_retrain(month=first)
    monkeypatch.setenv("FRAUD_PROMOTION_APPROVAL", "required")

    held = monthly_retrain(month=second)

    assert held["status"] == "held"
    registry = open_registry(settings)
    champion = registry.champion()
    assert champion is not None and champion.version == ruled["champion_version"]
    answered = CliRunner().invoke(
        app, ["review", second, "--approve", "--by", "Ada", "--note", "checked the groups"]
    )
    assert answered.exit_code == 0, answered.output
    served = registry.champion()
    assert served is not None and served.version == held["challenger_version"]
    kinds = [(c.kind, c.by) for c in reversed(DecisionLog(settings).changes())]
    # a rejection by the rule moves nothing, so signs nothing; a promotion is signed by the rule
    by_rule = [(ChangeKind.RULE, "")] if ruled["status"] == "promoted" else []
    assert kinds == [(ChangeKind.REVIEW, "Ada"), *by_rule]
    card = registry.client.get_model_version(settings.model_name, served.version)
    assert card.description.startswith(f"Version {served.version} of {settings.model_name}")
