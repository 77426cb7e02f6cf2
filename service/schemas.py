"""The service's responses and its one error shape as pydantic models: what the OpenAPI document
(service/openapi.py) publishes and the endpoints return."""

from __future__ import annotations

from pydantic import BaseModel, Field

from fraud_detection.core.explain import METHODS

RISK_LEVELS = ("low_risk", "moderate_risk", "high_risk")


class Prediction(BaseModel):
    """One record's answer in the original contract."""

    probability: float = Field(description="p(fraud), rounded to 4 places", ge=0, le=1)
    risk_level: str = Field(
        description="low_risk below 0.25, high_risk above 0.45, else moderate_risk (configurable)",
        json_schema_extra={"enum": list(RISK_LEVELS)},
    )
    is_fraud: bool = Field(description="probability at or above the model's own decision threshold")


class PredictResponse(BaseModel):
    """The original contract's answer: one prediction per record, in order."""

    predictions: list[Prediction] = Field(description="one per record, in request order")
    model_version: str = Field(description="registry version of the model that answered")


class Score(BaseModel):
    """One record's unrounded probability, risk band and the model's decision."""

    probability: float = Field(description="p(fraud), unrounded", ge=0, le=1)
    risk_level: str = Field(json_schema_extra={"enum": list(RISK_LEVELS)})
    is_fraud: bool = Field(description="probability at or above the model's own decision threshold")


class ModelInfo(BaseModel):
    """The model being served, as `/model` and `/score` describe it."""

    version: str = Field(description="registry version (or the bundled model's)")
    run_id: str | None = Field(description="MLflow run that trained it")
    source: str = Field(description="mlflow or bundle")
    month: str | None = Field(description="the month it was trained for")
    threshold: float = Field(description="decision threshold behind is_fraud")
    metrics: dict[str, str] = Field(description="holdout metrics recorded with the version")
    loaded_at: str = Field(description="when this worker loaded it (UTC)")


class ModelInputs(BaseModel):
    """The contract's features the model was trained on and those left out on purpose."""

    used: list[str] = Field(description="features the model takes, in contract order")
    left_out: list[str] = Field(
        description="features it was trained without (FRAUD_EXCLUDED_INPUTS); requests still "
        "carry and validate them, and groups are still measured on them"
    )


class ModelDetails(ModelInfo):
    """What `/model` answers: the model being served and the inputs it uses."""

    inputs: ModelInputs


class ScoreResponse(BaseModel):
    """The scores of a request and which model gave them."""

    scores: list[Score] = Field(description="one per record, in request order")
    model: ModelInfo


class Reason(BaseModel):
    """One feature's part in a record's score."""

    feature: str = Field(description="the feature's name in the contract")
    label: str = Field(description="what the feature is, in a few words")
    value: float = Field(
        description="the applicant's value as the model saw it (CREDIT_TO_INCOME as computed)"
    )
    contribution: float = Field(
        description="how far this value moved the record's log-odds away from the base value"
    )
    probability_change: float = Field(
        description="the probability the base value and this contribution alone give, minus "
        "the base probability",
        ge=-1,
        le=1,
    )


class Explanation(BaseModel):
    """One record's score as `/score` gives it, and why: its top reasons either way.

    The contributions of all 54 features plus `base_value` equal `margin` (to float tolerance),
    and the probability is the sigmoid of the margin."""

    probability: float = Field(description="p(fraud), unrounded, as /score gives it", ge=0, le=1)
    risk_level: str = Field(json_schema_extra={"enum": list(RISK_LEVELS)})
    is_fraud: bool = Field(description="probability at or above the model's own decision threshold")
    margin: float = Field(description="the model's log-odds of fraud for this record")
    base_value: float = Field(
        description="the model's average log-odds over its training data (as its trees record "
        "it), the same for every record: where the contributions start from"
    )
    base_probability: float = Field(description="sigmoid(base_value)", ge=0, le=1)
    raising: list[Reason] = Field(
        description="up to `top` features that raised the log-odds most, largest first"
    )
    lowering: list[Reason] = Field(
        description="up to `top` features that lowered the log-odds most, largest first"
    )


class ExplainResponse(BaseModel):
    """Each record's score and reasons, and which model gave them."""

    explanations: list[Explanation] = Field(description="one per record, in request order")
    method: str = Field(
        description="how the contributions were computed", json_schema_extra={"enum": list(METHODS)}
    )
    model: ModelInfo


class ErrorProblem(BaseModel):
    """One problem of a refused request, naming its field."""

    field: str = Field(description="the field (or 'data', 'body', …) the problem is about")
    message: str = Field(description="what is wrong, with the record index for record fields")


class ErrorResponse(BaseModel):
    """The one shape of every 4xx answer (and of 503)."""

    error: str = Field(description="a summary of what is wrong")
    problems: list[ErrorProblem] = Field(description="each problem, naming its field")
