"""How a month is judged: the gate, its intervals and the data alarm."""

from __future__ import annotations

from pydantic import BaseModel, Field

from fraud_detection.core.params import GateMode, GateStatistic


class JudgingSettings(BaseModel):
    """How a month is judged: the gate, its intervals and the data alarm."""

    # The promotion gate (see decision.py): a paired per-row test of a proper score.
    gate_mode: GateMode = Field(
        "non_inferiority", description="promote unless worse (non_inferiority) or only if better"
    )
    gate_statistic: GateStatistic = Field(
        "log_loss", description="per-application score the gate pairs: log_loss or brier"
    )
    gate_tolerance: float = Field(
        0.025, ge=0, lt=1, description="non-inferiority margin, share of the champion's loss"
    )
    promotion_margin: float = Field(
        0.0, ge=0, lt=1, description="superiority margin, share of the champion's loss"
    )
    gate_confidence: float = Field(
        0.95, gt=0.5, lt=1, description="one-sided confidence of the gate's bound"
    )
    # Threshold metric shown beside the gate in reports (F1, precision and recall are all logged).
    bootstrap_samples: int = Field(
        200, ge=50, description="resamples of the intervals in the report (PR-AUC, groups)"
    )
    # The data alarm: the champion's ranking collapsed, or the fraud rate jumped.
    alarm_auc_drop: float = Field(
        0.10, gt=0, le=1, description="data alarm: drop of the champion's ROC-AUC on the month"
    )
    alarm_rate_factor: float = Field(
        2.0, gt=1, description="data alarm: factor the fraud rate moved by against recent months"
    )
