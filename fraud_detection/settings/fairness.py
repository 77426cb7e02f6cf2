"""Settings of the fairness check: which groups of applicants are measured and when a challenger
that flags one of them more is held for a person."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FairnessSettings(BaseModel):
    """Groups measured at every judgement, and the limits of the gate's group check."""

    group_attributes: list[str] = Field(
        ["sex", "age_band", "pensioner"],
        description=(
            "Attributes that define groups: sex, age_band, pensioner (built in), a contract "
            'column (each value a level) or "COLUMN:edge,edge" (bands); JSON list in the env var'
        ),
    )
    group_tolerance: float = Field(
        0.05,
        description=(
            "Hold when a group's share flagged or false-positive rate rises by more than this "
            "(absolute) beyond the champion's scaled by the rest's change, with 95 % "
            "paired-bootstrap confidence; also the least fall of a ratio the limit counts"
        ),
    )
    group_ratio_limit: float = Field(
        0.8,
        description=(
            "Hold when the challenger pushes an attribute's lowest-to-highest ratio of share "
            "flagged or false-positive rate below this while the champion's was not"
        ),
    )
    group_log_odds_tolerance: float = Field(
        0.15,
        description=(
            "Hold when the challenger raises a group's mean log-odds of fraud, against the "
            "champion's on the same rows, by more than this beyond the rest's change, with 95 % "
            "paired-bootstrap confidence (a month whose labels are biased against the group)"
        ),
    )
    group_min_holdout: int = Field(
        2_000,
        ge=0,
        description=(
            "holdout rows from which the group checks judge: on fewer, two models differ by group "
            "from the noise of fitting on little data alone, which the holdout's bootstrap does "
            "not see (ordinary months of 1,000 rows were held; of 7,680 rows, none in 41)"
        ),
    )
    group_min_rows: int = Field(
        100, description="A group with fewer holdout rows is reported, not judged"
    )
    group_bootstrap_samples: int = Field(
        400, description="Bootstrap resamples for the per-group intervals and the paired test"
    )
