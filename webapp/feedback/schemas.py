"""The feedback request and answer."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints, model_validator

from ..schemas import UUID_PATTERN, Label, RequestModel

MAX_RECORDS = 1000


class FeedbackRecord(RequestModel):
    prediction_id: Annotated[str, StringConstraints(pattern=UUID_PATTERN)] = Field(
        description="The prediction_id that /predict answered"
    )
    label: Label | None = Field(default=None, description="The true label, as a user or a labeller saw it")
    reward: Annotated[float, Field(ge=0, le=1)] | None = Field(
        default=None, description="An outcome that is not a label, 0 to 1 (a click, a thumbs-up)"
    )

    @model_validator(mode="after")
    def _label_or_reward(self) -> FeedbackRecord:
        if self.label is None and self.reward is None:
            raise ValueError("give a 'label', a 'reward', or both")
        return self


class FeedbackBody(RootModel[Annotated[list[FeedbackRecord], Field(min_length=1, max_length=MAX_RECORDS)]]):
    """One record, or a list of 1 to 1,000."""

    model_config = ConfigDict(strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        many = handler(core_schema)
        return {"anyOf": [many["items"], {key: value for key, value in many.items() if key != "title"}]}


class FeedbackAccepted(BaseModel):
    accepted: int = Field(description="Records queued for storage")
    rejected: int = Field(description="Records not queued: superseded by a later record for the same prediction")
