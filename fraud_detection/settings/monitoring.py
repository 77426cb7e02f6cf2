"""How the daily monitor reads the captured traffic and when it raises its event."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MonitoringSettings(BaseModel):
    """How the daily monitor reads the captured traffic and when it raises its event."""

    # Watching the served model (the monitor flow; docs/watching.md).
    capture_retention_days: int = Field(
        183,
        ge=1,
        description=(
            "days captured scores are kept in the lake (applied by monitor); 183 by default: "
            "the EU AI Act (Art. 12, 19, 26(6)) asks that a high-risk system's logs be kept "
            "at least six months"
        ),
    )
    monitor_window_days: int = Field(7, ge=1, description="days of traffic a monitor run reads")
    monitor_reference_rows: int = Field(
        5_000, ge=200, description="rows sampled from the champion's training data as reference"
    )
    monitor_sample_rows: int = Field(
        20_000, ge=200, description="rows of the window's traffic sampled for the drift tests"
    )
    # Past these limits the monitor emits a Prefect event and marks its report.
    monitor_max_drifted_share: float = Field(
        0.1, ge=0, le=1, description="share of the 54 inputs that may drift"
    )
    monitor_alert_on_score_drift: bool = Field(
        True, description="a drift of the served probability raises the event"
    )
    monitor_max_rejected_rate: float = Field(
        0.05, ge=0, le=1, description="share of requests refused with a 4xx"
    )
