"""A follower that polls the registry's ``champion`` alias and loads a new version off the
request path; when MLflow is down it keeps serving the model it has."""

from __future__ import annotations

import logging
import threading

from fraud_detection.adapters.decision_log import DecisionLog
from fraud_detection.adapters.model_files import check_booster
from fraud_detection.adapters.registry import Registry
from fraud_detection.config import Settings
from fraud_detection.core.redact import redact_text
from fraud_detection.core.signatures import Suspension
from fraud_detection.serving.model import LoadedModel, ModelHolder

logger = logging.getLogger("fraud_detection.serving")


class ChampionFollower:
    """Polls the registry and swaps in each new champion; keeps serving when MLflow is down."""

    def __init__(self, settings: Settings, holder: ModelHolder) -> None:
        self.settings = settings
        self.holder = holder
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._registry: Registry | None = None
        self._log: DecisionLog | None = None
        # A person's stop (``fraud-detection suspend``): scoring answers 503 while it stands.
        self.suspension: Suspension | None = None

    def refresh(self) -> bool:
        """Load the champion if it changed; True when a new model was swapped in."""
        try:
            self._registry = self._registry or Registry(self.settings)
            self._log = self._log or DecisionLog(self.settings)
            self.suspension = self._log.suspension()  # MLflow down: the last one read stands
            champion = self._registry.champion()
            current = self.holder.current
            if champion is None or (
                current is not None
                and current.version == champion.version
                and current.source == "mlflow"
            ):
                return False
            booster = self._registry.load_booster(champion.version)
            check_booster(booster)
            self.holder.swap(
                LoadedModel(
                    booster,
                    champion.version,
                    champion.tags.threshold_or(self.settings.default_threshold),
                    "mlflow",
                    champion.run_id,
                    champion.tags,
                )
            )
            logger.info("serving %s version %s", self.settings.model_name, champion.version)
            return True
        except Exception as exc:  # any registry failure: keep the model we have
            secrets = [s.get_secret_value() for s in (self.settings.s3_secret_access_key,) if s]
            logger.warning(
                "champion refresh failed, keeping the current model: %s",
                redact_text(f"{type(exc).__name__}: {exc}", secrets)[:500],
            )
            return False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="champion-follower", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.refresh_interval_s):
            self.refresh()

    def stop(self) -> None:
        self._stop.set()
