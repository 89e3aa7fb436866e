"""POST /predict: the request and the answer."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from ..schemas import MAX_TEXT_CHARS, Label, ModelName, RequestModel, SemVer, UserId, storable


class PredictRequest(RequestModel):
    text: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT_CHARS), AfterValidator(storable)
    ]
    user_id: UserId | None = Field(
        default=None, description="Sticky routing key; requests without one are routed at random"
    )
    model: ModelName | None = Field(default=None, description="Model name; default: the only active one")
    model_version: SemVer | None = Field(default=None, description="Serve this active version explicitly")

    @property
    def user_key(self) -> str | None:
        return self.user_id


class PredictionOut(BaseModel):
    prediction: Label
    confidence: float
    polarity: float
    subjectivity: float
    model_id: str
    model_name: str
    model_version: str
    latency_ms: float = Field(description="Inference time in milliseconds")
    prediction_id: str
    routing: Literal["sticky", "random", "explicit"]
    bucket: int | None = Field(description="The user's bucket, 0 to 99, when routing is sticky")
    slot: int | None = Field(default=None, description="The user's slot, 0 to 9,999, when routing is sticky")
