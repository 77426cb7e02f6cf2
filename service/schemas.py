"""Request and response models of the HTTP API (the original /predict contract and /score)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Prediction(BaseModel):
    probability: float = Field(description="p(fraud), rounded to 4 places")
    risk_level: str = Field(
        description="low_risk below 0.25, high_risk above 0.45, else moderate_risk"
    )
    is_fraud: bool = Field(description="probability at or above the model's own decision threshold")


class PredictResponse(BaseModel):
    predictions: list[Prediction]
    model_version: str


class Score(BaseModel):
    probability: float = Field(description="p(fraud), unrounded")
    risk_level: str
    is_fraud: bool


class ScoreResponse(BaseModel):
    scores: list[Score]
    model: dict[str, Any]


class ErrorResponse(BaseModel):
    error: str
    problems: list[dict[str, str]] = []
