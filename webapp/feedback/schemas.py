"""The feedback request and answer."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator
from pydantic_core import PydanticCustomError

from ..schemas import UUID_PATTERN, Label, RequestModel, plain_string

MAX_RECORDS = 1000
PredictionId = plain_string(
    "prediction_id",
    "must be a prediction_id as /predict answered it: 32 hexadecimal digits in groups of 8-4-4-4-12 joined by '-'",
    lambda value, uuid=re.compile(UUID_PATTERN): uuid.fullmatch(value) is not None,
    {"pattern": UUID_PATTERN},
)


class FeedbackRecord(RequestModel):
    prediction_id: PredictionId = Field(description="The prediction_id that /predict answered")
    label: Label | None = Field(default=None, description="The true label, as a user or a labeller saw it")
    reward: Annotated[float, Field(ge=0, le=1)] | None = Field(
        default=None, description="An outcome that is not a label, 0 to 1 (a click, a thumbs-up)"
    )

    @model_validator(mode="after")
    def _label_or_reward(self) -> FeedbackRecord:
        if self.label is None and self.reward is None:
            raise PydanticCustomError("label_or_reward", "give a 'label', a 'reward', or both")
        return self


class FeedbackBody(RootModel[Annotated[list[FeedbackRecord], Field(min_length=1, max_length=MAX_RECORDS)]]):
    """One record, or a list of 1 to 1,000."""

    model_config = ConfigDict(strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return [value]
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_RECORDS:
            raise PydanticCustomError(
                "feedback_body", f"must be one feedback record (an object) or an array of 1 to {MAX_RECORDS} of them"
            )
        return value

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        many = handler(core_schema)
        return {"anyOf": [many["items"], {key: value for key, value in many.items() if key != "title"}]}


class FeedbackAccepted(BaseModel):
    accepted: int = Field(description="Records queued for storage")
    rejected: int = Field(description="Records not queued: superseded by a later record for the same prediction")
