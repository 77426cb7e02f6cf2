"""The model card is generated from what the registry and the run hold: every section, the
group figures exactly as logged, the review and the history; published into the run and as the
version's description."""

from __future__ import annotations

import pytest

from fraud_detection.config import Settings
from fraud_detection.core.lineage import PartitionRef
from fraud_detection.core.signatures import AliasChange, Answer, ChangeKind, ReviewRecord
from fraud_detection.core.tags import Role, Verdict, VersionTags
from fraud_detection.steps import model_card
from tests.support.decisions import InMemoryDecisionLog
from tests.support.fakes import InMemoryRegistry, Run

GROUP_METRICS = {
    "group.sex.F.count": 1200.0,
    "group.sex.F.false_positive_rate": 0.0612,
    "group.sex.M.count": 800.0,
    "group.sex.M.false_positive_rate": 0.0408,
    "group.age_band.25-34.recall": 0.71,
    "pr_auc_low": 0.41,
    "pr_auc_high": 0.55,
}
SECTIONS = [
    "Intended use and users",
    "Data",
    "Recipe",
    "Holdout metrics",
    "Groups",
    "Threshold and capacity",
    "The gate's reasoning",
    "Review",
    "Inputs",
    "Known limits",
    "History",
]


@pytest.fixture
def registry() -> InMemoryRegistry:
    book = InMemoryRegistry()
    lineage = [PartitionRef("base", "b", "a" * 64), PartitionRef("2025-03", "m", "b" * 64)]
    book.runs["run-1"] = Run(
        "challenger-2025-03",
        params={"positive_weight": "3.2", "training_rows": "9000"},
        metrics=dict(GROUP_METRICS),
        artifacts={"lineage": lineage},
    )
    review = ReviewRecord(Answer.APPROVED, "Ada", "group gap explained", "2026-01-02T10:00:00Z")
    tags = VersionTags(
        month="2025-03",
        role=Role.CHALLENGER,
        threshold=0.31,
        holdout={"pr_auc": 0.48, "fraud_rate": 0.08},
        decision=Verdict.HELD,
        decision_reason="Non-inferior on log-loss. Held for review: the share of women flagged.",
        other=review.to_tags(),
    )
    book.register_version("m1", "run-1", tags)
    return book


def test_group_metrics_become_one_row_per_attribute_and_level() -> None:
    rows = model_card.group_figures(GROUP_METRICS)

    assert rows == [
        {"attribute": "age_band", "level": "25-34", "recall": 0.71},
        {"attribute": "sex", "level": "F", "count": 1200.0, "false_positive_rate": 0.0612},
        {"attribute": "sex", "level": "M", "count": 800.0, "false_positive_rate": 0.0408},
    ]


def test_the_card_has_every_section_and_the_logged_figures(
    registry: InMemoryRegistry, settings: Settings
) -> None:
    log = InMemoryDecisionLog(registry)
    log.record(AliasChange("2026-01-02T10:00:00Z", "champion", "0", "1", ChangeKind.REVIEW, "Ada"))

    card = model_card.build_card(registry, log, settings, "1")

    assert list(card.sections) == SECTIONS
    text = card.markdown()
    assert settings.model_card_intended_use in text
    assert "2 partitions (2025-03 to 2025-03), 9000 training rows" in text
    assert "| pr auc | 0.4800 | 0.4100 – 0.5500 |" in text
    assert "| sex | F | 1,200 | 0.0612 |" in text
    assert "Approved by Ada at 2026-01-02T10:00:00Z. Note: group gap explained" in text
    assert "review 0 → 1 by Ada" in text
    assert "probability ≥ 0.3100" in text
    groups = {(g["attribute"], g["level"]): g for g in card.as_dict()["groups"]}
    for name, value in GROUP_METRICS.items():
        if name.startswith("group."):
            _, attribute, level, figure = name.split(".")
            assert groups[(attribute, level)][figure] == value


def test_a_version_without_groups_or_review_says_so(settings: Settings) -> None:
    book = InMemoryRegistry()
    book.register_version("m1", None, VersionTags(month="external", role=Role.EXTERNAL))

    card = model_card.build_card(book, InMemoryDecisionLog(book), settings, "1")

    assert card.sections["Groups"].startswith("No per-group figures")
    assert card.sections["Review"] == "No person has reviewed this version."
    assert card.sections["History"] == "This version was never served."


def test_publishing_keeps_the_card_and_its_first_paragraph(
    registry: InMemoryRegistry, settings: Settings
) -> None:
    log = InMemoryDecisionLog(registry)

    card = model_card.publish_card(registry, log, settings, "1")

    markdown, summary = log.cards["1"]
    assert markdown == card.markdown() and markdown.startswith("# Model card: version 1")
    assert summary.startswith("Version 1 of fraud-detector, a challenger model for month 2025-03")


@pytest.mark.parametrize(
    ("recorded", "expected"),
    [
        (
            {"inputs_left_out": "CODE_GENDER"},
            "53 of the 54 features: 53 inputs of the contract plus CREDIT_TO_INCOME "
            "(docs/contract.md), less those left out on purpose (FRAUD_EXCLUDED_INPUTS): "
            "`CODE_GENDER`.",
        ),
        ({"inputs_left_out": "none"}, "All 54 features: 53 inputs of the contract plus"),
        ({}, "the run records no inputs left out."),
    ],
)
def test_the_card_lists_the_inputs_the_model_uses_and_those_it_leaves_out(
    registry: InMemoryRegistry, settings: Settings, recorded: dict[str, str], expected: str
) -> None:
    registry.runs["run-1"].params.update(recorded)

    card = model_card.build_card(registry, InMemoryDecisionLog(registry), settings, "1")

    assert expected in card.sections["Inputs"]
    left = recorded.get("inputs_left_out", "none")
    assert card.as_dict()["inputs_left_out"] == ([] if left == "none" else [left])
