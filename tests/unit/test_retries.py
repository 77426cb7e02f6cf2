"""Retries after partial failures finish the same state; what is served shows what it was judged
on; a first champion from a model file gives the first month's data alarm a reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flows.bootstrap import register_file
from fraud_detection.adapters.lake import Lake
from fraud_detection.adapters.registry import StaleChampionError
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from fraud_detection.core.alarm import Alarm
from fraud_detection.core.gate import Decision
from fraud_detection.core.lineage import PartitionRef
from fraud_detection.core.tags import Role, Verdict, VersionTags
from fraud_detection.core.training import TrainedModel
from fraud_detection.serving.model import LoadedModel
from fraud_detection.sources.synthetic import generate_lake_partitions
from fraud_detection.steps import challengers, intake, judging, months, pool, transition
from tests.support.fakes import InMemoryRegistry, StoredVersion
from tests.support.faults import FaultPlan, Faulty
from tests.support.models import register_small

MONTH = "2025-04"
VERDICTS = {
    "promoted": Decision.of_gate(True, "better"),
    "rejected": Decision.of_gate(False, "worse"),
    "quarantined": Decision(Verdict.QUARANTINED, "alarm"),
}


def _evaluation(decision: Decision) -> judging.Evaluation:
    """Challenger v7 of MONTH judged against champion v5 (refit v8 exists for a promotion)."""
    challenger = challengers.Challenger(MONTH, "7", "run-7", 0.3, "sha", False, 0.25)
    scores = judging.HoldoutScores(
        month=MONTH,
        challenger=challenger,
        champion_version="5",
        compared_version="5",
        challenger_metrics={"pr_auc": 0.31, "roc_auc": 0.77, "f1": 0.35, "brier": 0.06},
        champion_metrics={"pr_auc": 0.29, "roc_auc": 0.75, "f1": 0.33, "brier": 0.07},
        y=np.zeros(400),
        challenger_probability=np.zeros(400),
        champion_probability=np.zeros(400),
    )
    alarmed = decision.verdict is Verdict.QUARANTINED
    alarm = Alarm(alarmed, "labels look shuffled" if alarmed else "ok", 0.74, 0.75, 0.08, 0.08)
    return judging.Evaluation(scores, None, decision, alarm, None)


def _book() -> InMemoryRegistry:
    roles = {"7": Role.CHALLENGER, "8": Role.REFIT}
    versions = [
        StoredVersion(n, None, VersionTags(month=MONTH, role=roles.get(n), refit_of=None))
        for n in "12345678"
    ]
    return InMemoryRegistry(stored=versions, aliases={"champion": "5"})


def _month() -> intake.MonthData:
    return intake.MonthData(PartitionRef(MONTH, f"{MONTH}/applications-1", "abc"), b"")


def _state(book: InMemoryRegistry) -> tuple[object, ...]:
    """Aliases, every version's tags and the quarantines, without their timestamps."""
    tags = {v.version: v.tags.to_tags() for v in book.versions()}
    held = {m: (r.path, r.reason, r.run_id) for m, r in book.held.items()}
    return dict(book.aliases), tags, held


def _transition(book: object, verdict: str) -> transition.TransitionResult:
    served = "8" if verdict == "promoted" else None
    return transition.apply_verdict(book, _evaluation(VERDICTS[verdict]), _month(), served)  # type: ignore[arg-type]


@pytest.mark.parametrize("verdict", list(VERDICTS))
def test_a_transition_retried_after_a_failure_at_any_call_ends_as_an_undisturbed_one(
    verdict: str,
) -> None:
    undisturbed = _book()
    _transition(undisturbed, verdict)
    counting = FaultPlan()
    counting.arm()
    _transition(Faulty(_book(), counting, "registry"), verdict)
    assert counting.calls and not counting.injected
    survived = 0
    for lost_answer in (False, True):  # the call never happened / it happened, its answer lost
        for k in range(1, len(counting.calls) + 1):
            # Given the k-th registry call of the transition failing once
            book, plan = _book(), FaultPlan(k, lost_answer=lost_answer)
            plan.arm()
            faulty = Faulty(book, plan, "registry")
            with pytest.raises(ConnectionError):
                _transition(faulty, verdict)
            # Then the month is decided by every reader's account, or by none
            decided = MONTH in book.decided_months()
            assert decided == (months.already_decided(book, MONTH) is not None), plan.injected
            # and the retry completes exactly the state of an undisturbed transition
            outcome = _transition(faulty, verdict)
            assert _state(book) == _state(undisturbed), plan.injected
            assert outcome.decision.verdict == verdict
            survived += 1
    assert survived == 2 * len(counting.calls)


def test_a_retried_promotion_succeeds_and_a_stale_one_is_still_refused(
    settings: Settings, trained: TrainedModel
) -> None:
    registry = open_registry(settings)
    v1, v2, v3 = (register_small(registry, trained, m) for m in ("2025-01", "2025-02", "2025-03"))
    registry.promote(v1, expected_champion=None)
    registry.promote(v2, expected_champion=v1)
    # When the same promotion is retried (its answer was lost, or a later write failed)
    registry.promote(v2, expected_champion=v1)
    # Then it succeeds without writing anything new
    champion = registry.champion()
    assert champion is not None and champion.version == v2
    assert champion.tags.promoted_from == v1
    # while another version judged against the replaced champion is still refused
    with pytest.raises(StaleChampionError, match=f"champion is version {v2}, not {v1}"):
        registry.promote(v3, expected_champion=v1)


def test_the_served_refit_shows_the_figures_it_was_judged_on_before_it_is_served() -> None:
    book = _book()
    _transition(book, "promoted")
    refit, challenger = book.version("8").tags, book.version("7").tags
    assert refit.holdout == challenger.holdout != {}
    assert set(refit.holdout) == {"pr_auc", "roc_auc", "f1", "brier", "fraud_rate"}
    assert refit.compared_with == "5"
    # written before the champion moved, so a service loading it at once shows them
    moved = book.journal.index(("champion", "8"))
    assert book.journal.index(("tag", "8", "holdout_pr_auc")) < moved
    served = LoadedModel(None, "8", 0.3, "mlflow", tags=refit).describe()  # type: ignore[arg-type]
    assert served["metrics"]["holdout_pr_auc"] == "0.3100"
    assert served["metrics"]["holdout_roc_auc"] == "0.7700"


def _lake_with_a_shuffled_first_month(settings: Settings) -> tuple[Lake, str]:
    lake = Lake.from_settings(settings)
    base, first = generate_lake_partitions(
        months=1, rows_per_month=2_000, base_rows=4_000, seed=settings.seed
    )
    lake.write(base.name, base.frame)
    rng = np.random.default_rng(5)
    labels = rng.permutation(first.frame["TARGET"].to_numpy())
    lake.write(first.name, first.frame.assign(TARGET=labels))
    return lake, first.name


def test_after_bootstrap_from_a_model_file_a_garbage_first_month_raises_the_alarm(
    settings: Settings, trained: TrainedModel, tmp_path: Path
) -> None:
    # Given a champion registered from a model file by bootstrap, and a first month whose labels
    # were shuffled on delivery
    lake, month = _lake_with_a_shuffled_first_month(settings)
    path = tmp_path / "elsewhere.ubj"
    trained.booster.save_model(str(path))
    register_file.fn(settings, str(path), 0.3)
    registry = open_registry(settings)
    champion = registry.champion()
    assert champion is not None and champion.tags.role is Role.EXTERNAL
    assert {"roc_auc", "fraud_rate"} <= set(champion.tags.holdout)  # measured on the base
    # When the month is judged
    data = intake.fetch(lake, month)
    split = intake.split(settings, month, intake.validate(data))
    inputs = pool.gather(lake, registry, data, split)
    challenger = challengers.train_challenger(registry, settings, inputs)
    scores = judging.evaluate(registry, settings, challenger, inputs.holdout)
    evaluation = judging.compare_with_champion(registry, settings, scores)
    # Then the champion's collapse on it raises the alarm: quarantined, not promoted
    assert evaluation.alarm.reference_roc_auc == champion.tags.holdout["roc_auc"]
    assert evaluation.alarm.raised and evaluation.decision.verdict is Verdict.QUARANTINED
    # and bootstrapping again registers nothing
    assert register_file.fn(settings, str(path), 0.3).created is False
    assert len(registry.versions()) == 2
