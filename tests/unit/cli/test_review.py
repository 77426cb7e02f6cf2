"""The reviewer's commands on a real (SQLite) MLflow registry: review a month held by a run that
has ended, promote and rollback signed, history in order, status lists what waits, the card."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fraud_detection.adapters.decision_log import DecisionLog
from fraud_detection.adapters.registry import Registry
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from fraud_detection.core.training import TrainedModel
from fraud_detection.steps import signing
from fraud_detection_cli.main import app
from tests.support.models import register_small

runner = CliRunner()


@pytest.fixture
def registry(settings: Settings, trained: TrainedModel) -> Registry:
    """Version 1 promoted by the rule; version 2 held for 2025-03 (its run has ended)."""
    book = open_registry(settings)
    register_small(book, trained, "base")
    book.promote("1", expected_champion=None)
    signing.sign_rule_promotion(DecisionLog(settings), settings, None, "1", "first champion")
    register_small(
        book,
        trained,
        "2025-03",
        role="challenger",
        compared_with="1",
        decision="held",
        decision_reason="Held for review: the share of women flagged doubled.",
    )
    book.log_to_run(book.version("2").run_id or "", metrics={"group.sex.F.recall": 0.7})
    return book


def test_a_held_month_is_listed_reviewed_from_the_terminal_and_history_names_everyone(
    registry: Registry,
) -> None:
    status = runner.invoke(app, ["status", "--json"])
    assert json.loads(status.stdout)["awaiting_review"] == [{"month": "2025-03", "version": "2"}]

    answered = runner.invoke(
        app, ["review", "2025-03", "--approve", "--by", "Ada Lovelace", "--note", "gap explained"]
    )
    assert answered.exit_code == 0, answered.output
    assert "2025-03 approved by Ada Lovelace: champion is version 2" in answered.output
    assert registry.champion().version == "2"  # type: ignore[union-attr]
    assert registry.version("2").tags.other["review_by"] == "Ada Lovelace"

    back = runner.invoke(app, ["rollback", "--by", "Bo", "--note", "complaints"])
    assert back.exit_code == 0 and "rolled back to version 1" in back.output

    listed = json.loads(runner.invoke(app, ["history", "--json"]).stdout)
    assert [(c["kind"], c["from_version"], c["to_version"], c["by"]) for c in listed] == [
        ("rollback", "2", "1", "Bo"),
        ("review", "1", "2", "Ada Lovelace"),
        ("rule", "", "1", ""),
    ]
    assert listed[1]["note"] == "gap explained" and listed[2]["rule"] == "first champion"
    table = runner.invoke(app, ["history"], env={"COLUMNS": "200"})
    assert "Ada Lovelace" in table.output and "rule (rule)" in table.output
    assert json.loads(runner.invoke(app, ["status", "--json"]).stdout)["awaiting_review"] == []


def test_a_rejection_keeps_the_champion_and_a_second_answer_is_refused(
    registry: Registry,
) -> None:
    rejected = runner.invoke(app, ["review", "2025-03", "--reject", "--by", "Bo"])
    assert rejected.exit_code == 0 and "rejected by Bo: champion is version 1" in rejected.output
    again = runner.invoke(app, ["review", "2025-03", "--approve", "--by", "Cy"])
    assert again.exit_code == 1 and "already rejected by Bo" in again.output
    assert "Traceback" not in again.output
    neither = runner.invoke(app, ["review", "2025-03", "--by", "Cy"])
    assert neither.exit_code == 1 and "--approve or --reject" in neither.output


def test_promote_without_by_is_refused_when_approval_is_required(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUD_PROMOTION_APPROVAL", "required")

    refused = runner.invoke(app, ["promote", "2"])
    assert refused.exit_code == 1 and "--by NAME" in refused.output
    assert registry.champion().version == "1"  # type: ignore[union-attr]
    assert runner.invoke(app, ["rollback"]).exit_code == 1

    signed = runner.invoke(app, ["promote", "2", "--by", "Ada", "--note", "after audit"])
    assert signed.exit_code == 0, signed.output
    assert registry.champion().version == "2"  # type: ignore[union-attr]
    card = json.loads(runner.invoke(app, ["card", "2", "--json"]).stdout)
    assert card["groups"] == [{"attribute": "sex", "level": "F", "recall": 0.7}]
    assert "promote 1 → 2 by Ada: after audit" in card["sections"]["History"]


def test_suspend_and_resume_are_signed(registry: Registry, settings: Settings) -> None:
    stopped = runner.invoke(app, ["suspend", "--by", "Ada", "--note", "audit"])
    assert stopped.exit_code == 0 and "scoring suspended by Ada" in stopped.output
    assert DecisionLog(settings).suspension() is not None
    assert runner.invoke(app, ["resume", "--by", "Bo"]).exit_code == 0
    assert DecisionLog(settings).suspension() is None
    kinds = [c["kind"] for c in json.loads(runner.invoke(app, ["history", "--json"]).stdout)]
    assert kinds[:2] == ["resume", "suspend"]
    assert runner.invoke(app, ["suspend"]).exit_code != 0  # a name is required


def test_card_of_an_unknown_version_says_so(registry: Registry) -> None:
    missing = runner.invoke(app, ["card", "9"])
    assert missing.exit_code == 1 and "has no version 9" in missing.output
