"""The card of the version being served, built from the registry when it is asked for (so its
review and history are current)."""

from __future__ import annotations

from fraud_detection.adapters.decision_log import DecisionLog
from fraud_detection.adapters.registry import Registry
from fraud_detection.config import Settings
from fraud_detection.steps.model_card import ModelCard, build_card


def served_card(settings: Settings, version: str) -> ModelCard:
    return build_card(Registry(settings), DecisionLog(settings), settings, version)
