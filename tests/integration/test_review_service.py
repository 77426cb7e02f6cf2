"""A person's stop and the model card on a real `bentoml serve`: `suspend` turns scoring into a
clear 503 within one refresh and `resume` back, health never failing; `/model/card` answers for
the version being served."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from fraud_detection.adapters.decision_log import DecisionLog
from fraud_detection.adapters.stores import open_registry
from fraud_detection.config import Settings
from fraud_detection.steps import model_card, signing
from tests.support.models import register_small, train_small
from tests.support.records import EXAMPLE
from tests.support.service import BentoServer, get, post

pytestmark = pytest.mark.integration
REFRESH_S = 1.0


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A SQLite registry whose champion (v1) has group figures and a published card; a server."""
    root = tmp_path_factory.mktemp("review-service")
    settings = Settings(data_dir=root / "data")
    registry = open_registry(settings)
    version = register_small(registry, train_small(1, 0), "2025-01", holdout_pr_auc="0.4800")
    figures = {"group.sex.F.recall": 0.61, "group.sex.M.recall": 0.66}
    registry.log_to_run(registry.version(version).run_id or "", metrics=figures)
    registry.promote(version, expected_champion=None)
    model_card.publish_card(registry, DecisionLog(settings), settings, version)
    env = {
        "FRAUD_MLFLOW_TRACKING_URI": settings.tracking_uri,
        "FRAUD_REFRESH_INTERVAL_S": str(REFRESH_S),
    }
    bento = BentoServer("service.service:FraudDetector", env, root / "serve.log")
    try:
        yield {"settings": settings, "url": bento.start().url, "version": version, **figures}
    finally:
        bento.stop()


def _until(url: str, status: int, timeout: float) -> tuple[float, int]:
    """Seconds until scoring answers ``status`` (several times in a row, so every worker does),
    and how many health checks failed meanwhile."""
    start, streak, unhealthy, first = time.monotonic(), 0, 0, 0.0
    while time.monotonic() - start < timeout:
        sent = time.monotonic()
        code, _ = post(f"{url}/predict", {"data": [EXAMPLE]})
        unhealthy += sum(get(f"{url}/{path}")[0] != 200 for path in ("livez", "readyz"))
        first = first if streak and code == status else sent
        streak = streak + 1 if code == status else 0
        if streak >= 6:  # the change counts from the first answer of the streak
            return first - start, unhealthy
        time.sleep(0.05)
    raise TimeoutError(f"scoring never answered {status}")


def test_model_card_answers_for_the_served_version(served: dict[str, Any]) -> None:
    code, card = get(f"{served['url']}/model/card")

    assert code == 200, card
    assert card["version"] == served["version"]
    assert card["markdown"].startswith(f"# Model card: version {served['version']}")
    assert {"Intended use and users", "Groups", "Known limits", "History"} <= set(card["sections"])
    recall = {g["level"]: g["recall"] for g in card["groups"]}
    assert recall == {"F": served["group.sex.F.recall"], "M": served["group.sex.M.recall"]}


def test_suspend_turns_scoring_into_503_within_a_refresh_and_resume_back(
    served: dict[str, Any],
) -> None:
    url, settings = served["url"], served["settings"]
    assert post(f"{url}/predict", {"data": [EXAMPLE]})[0] == 200

    # written as `fraud-detection suspend` writes it (tests/unit/cli/test_review.py), timed
    # from the write rather than from a CLI process's start
    signing.suspend(DecisionLog(settings), settings, by="Ada", note="audit of the group figures")
    took, unhealthy = _until(url, 503, timeout=30)
    code, body = post(f"{url}/predict", {"data": [EXAMPLE]})
    assert code == 503 and "suspended by Ada" in body["error"]
    assert "audit of the group figures" in body["error"]
    print(f"suspended after {took:.2f} s (refresh {REFRESH_S} s)")
    assert took < REFRESH_S + 2.0  # one refresh, plus the poll's own registry read
    assert unhealthy == 0

    assert signing.resume(DecisionLog(settings), settings, by="Bo", note="audit done")
    took, unhealthy = _until(url, 200, timeout=30)
    print(f"resumed after {took:.2f} s")
    assert took < REFRESH_S + 2.0 and unhealthy == 0
    kinds = [c.kind for c in DecisionLog(settings).changes()]
    assert kinds[-2:] == ["suspend", "resume"]
