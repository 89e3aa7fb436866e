"""The shadow comparison as the API answers it: in the experiment report and at GET /models/<id>/shadow."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ..schemas import WeightOut


class ShadowComparisonOut(BaseModel):
    shadow_version: str
    shadow_model_id: str
    served_version: str
    served_model_id: str
    pairs: int = Field(description="Mirrored requests whose served prediction is stored")
    agreements: int = Field(description="Pairs where the shadow answered the served version's label")
    agreement_rate: float | None
    agreement_ci: list[float] | None = Field(description="95% Wilson interval of the agreement rate")
    labelled_pairs: int = Field(description="Pairs whose served prediction has labelled feedback")
    shadow_correct: int
    served_correct: int
    shadow_accuracy: float | None = Field(description="On the labelled pairs")
    served_accuracy: float | None = Field(description="On the same labelled pairs")
    difference: float | None = Field(description="shadow_accuracy - served_accuracy")
    shadow_only_correct: int = Field(description="Discordant pairs the shadow got right")
    served_only_correct: int = Field(description="Discordant pairs the served version got right")
    mcnemar_p_value: float | None = Field(
        description="Exact two-sided McNemar test on the discordant pairs; null without any"
    )
    summary: str = Field(description="The comparison in one sentence")


class ShadowReport(BaseModel):
    model_id: str
    model_name: str
    model_version: str
    shadow_percent: WeightOut
    comparisons: list[ShadowComparisonOut] = Field(description="One per version it mirrored")
    refreshed_at: datetime | None
