"""The reference pages are what the code generates, and every relative link in the docs leads
somewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from fraud_detection.config import Settings
from fraud_detection_cli.reference_docs import DOCS, pages
from tests.support.links import anchor_of, broken_links

ROOT = Path(__file__).resolve().parents[3]
MARKDOWN = [ROOT / "README.md", ROOT / "bench" / "README.md", *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("page", sorted(pages()))
def test_a_generated_page_is_what_the_code_generates(page: str) -> None:
    committed = (DOCS / page).read_text(encoding="utf-8")

    assert committed == pages()[page], f"docs/{page} is stale: run ./run docs"


def test_every_setting_has_a_description_for_the_configuration_page() -> None:
    missing = [name for name, info in Settings.model_fields.items() if not info.description]

    assert missing == []


def test_the_configuration_page_names_every_setting_by_its_variable() -> None:
    page = pages()["configuration.md"]

    assert "`FRAUD_GATE_TOLERANCE` | `0.025`" in page
    assert "`FRAUD_MLFLOW_TRACKING_URI` or `MLFLOW_TRACKING_URI`" in page


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_leads_somewhere(path: Path) -> None:
    assert broken_links(path, ROOT) == []


def test_a_planted_broken_link_or_anchor_is_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Serving the model\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Here\n[ok](other.md#serving-the-model) [self](#here) [web](https://example.org)\n"
        "[gone](missing.md) [anchor](other.md#observability) [own](#nowhere)\n",
        encoding="utf-8",
    )

    assert broken_links(page, tmp_path) == [
        "page.md: missing.md",
        "page.md: other.md#observability",
        "page.md: #nowhere",
    ]


def test_anchors_follow_githubs_rule() -> None:
    assert anchor_of("Capacity and label maturity") == "capacity-and-label-maturity"
    assert anchor_of("Prefect: server, work pool, cron") == "prefect-server-work-pool-cron"
    assert anchor_of("`FRAUD_API_KEY` and keys") == "fraud_api_key-and-keys"
