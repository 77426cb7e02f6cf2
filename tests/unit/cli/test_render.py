"""A run's result reads as a sentence: the verdict, the versions, never a Python repr."""

from __future__ import annotations

from fraud_detection.adapters.registry_sqlite import RegistrySnapshot
from fraud_detection.core.tags import Verdict
from fraud_detection_cli.render import (
    bootstrap_line,
    capacity_line,
    champion_at_capacity,
    retrain_line,
)

RUN = {"month": "2025-01", "challenger_version": "2", "champion_version": "3", "live_matched": 0}


def test_a_promotion_names_the_new_champion_and_the_refit_served() -> None:
    line = retrain_line({**RUN, "status": Verdict.PROMOTED, "served_version": "3"})

    assert line == (
        "2025-01: promoted — challenger v2; champion is now v3 "
        "(the challenger refitted on the whole month, v3)."
    )


def test_a_rejection_says_the_champion_stays_and_counts_the_live_matches() -> None:
    line = retrain_line({**RUN, "status": Verdict.REJECTED, "live_matched": 8000})

    assert line.startswith("2025-01: rejected — challenger v2; champion stays v3.")
    assert line.endswith("matched 8,000 applications the service had scored.")


def test_a_held_month_says_a_person_must_answer() -> None:
    line = retrain_line({**RUN, "status": Verdict.HELD})

    assert "held for review" in line and "champion stays v3" in line
    assert "Verdict" not in line


def test_nothing_to_do_and_already_decided_read_as_sentences() -> None:
    assert retrain_line({"status": "nothing to do"}).startswith("Nothing to do")
    decided = {"status": "already decided", "month": "2025-02", "decision": "rejected"}
    assert retrain_line({**decided, "version": "4"}) == (
        "2025-02 was already decided (rejected, version 4): nothing to do."
    )


def test_bootstrap_lines() -> None:
    assert bootstrap_line({"version": "1", "created": True}) == "First champion: version 1."
    assert "already exists (version 1)" in bootstrap_line({"version": "1", "created": False})


def test_status_gives_the_champions_precision_and_recall_at_capacity() -> None:
    at_capacity = {
        "holdout_capacity_share": "0.0500",
        "holdout_precision_at_capacity": "0.4120",
        "holdout_recall_at_capacity": "0.3810",
    }
    snapshot = RegistrySnapshot("3", None, [("2", {"month": "2025-01"}), ("3", at_capacity)], {})

    assert capacity_line(snapshot) == (
        "Champion v3 at the capacity of 5.0%: precision 41.2%, recall 38.1% on its month's holdout."
    )
    assert champion_at_capacity(snapshot) == {
        "capacity_share": 0.05, "precision_at_capacity": 0.412, "recall_at_capacity": 0.381,
    }  # fmt: skip
    # a champion cut without a capacity: no line
    assert capacity_line(RegistrySnapshot("2", None, snapshot.versions, {})) is None
