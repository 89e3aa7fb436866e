"""Request and response models of GET /models/stats/timeseries."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ..schemas import ModelName, QueryModel


class TimeseriesQuery(QueryModel):
    model: ModelName | None = Field(default=None, description="Only versions of this model")
    minutes: int = Field(default=60, ge=1, le=1440, description="How many minutes back, the current one included")


class VersionSeries(BaseModel):
    model_id: str
    model_name: str
    model_version: str
    counts: list[int] = Field(description="Predictions per minute, one per entry of `minutes`")


class Timeseries(BaseModel):
    model: str | None
    minutes: list[datetime] = Field(description="The start of each minute (UTC), oldest first")
    series: list[VersionSeries] = Field(description="Versions that served in the window, in registration order")
