"""Settings of the review: when a person must sign a promotion, how long a run waits for one,
and what the model card says the model is for."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

DEFAULT_INTENDED_USE = (
    "Ranks funding applications by the probability that they are fraudulent, so that "
    "investigators look first at the applications most likely to be. It is a help to choose "
    "which applications to examine, never a decision about a person: every flagged application "
    "is examined by an investigator, who decides."
)


class ReviewSettings(BaseModel):
    """Who signs a promotion and what a version's card states."""

    promotion_approval: Literal["rule", "required"] = Field(
        "rule",
        description="'required': every promotion the rule would make waits for a named "
        "person (held for review), and promote, rollback, suspend, resume need --by",
    )
    review_timeout_seconds: int = Field(
        86_400,
        ge=1,
        description="how long a deployed run waits for a reviewer's answer before it ends with "
        "the champion kept (the month stays held until someone answers with `review`)",
    )
    model_card_intended_use: str = Field(
        DEFAULT_INTENDED_USE,
        description="the 'intended use and users' paragraph of every model card",
    )
