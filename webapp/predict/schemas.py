"""POST /predict: the request and the answer."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from ..schemas import MAX_TEXT_CHARS, Label, ModelName, RequestModel, SemVer, UserId, storable


def _text(value: str) -> str:
    """The text without its surrounding whitespace, which must leave 1 to 5,000 characters."""
    value = value.strip()
    if not value:
        raise PydanticCustomError("text_blank", "must contain at least one non-space character")
    if len(value) > MAX_TEXT_CHARS:
        raise PydanticCustomError("text_too_long", f"must be at most {MAX_TEXT_CHARS} characters long")
    return value


class PredictRequest(RequestModel):
    text: Annotated[
        str,
        AfterValidator(storable),
        AfterValidator(_text),
        WithJsonSchema({"type": "string", "minLength": 1, "maxLength": MAX_TEXT_CHARS}),
    ] = Field(description="1 to 5,000 characters once surrounding whitespace is removed; no NUL character")
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
    evidence: int | None = Field(
        description="How many sentiment cues the model found in the text; 0: none, so the label is a guess "
        "and the confidence low (1/3 for the lexicon families); null: the family does not count them"
    )
    model_id: str
    model_name: str
    model_version: str
    latency_ms: float = Field(description="Inference time in milliseconds")
    prediction_id: str
    routing: Literal["sticky", "random", "explicit"]
    bucket: int | None = Field(description="The user's bucket, 0 to 99, when routing is sticky")
    slot: int | None = Field(default=None, description="The user's slot, 0 to 9,999, when routing is sticky")
