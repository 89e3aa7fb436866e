"""Statistics requests and answers: /models/stats, /models/performance, /models/stats/timeseries."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..schemas import Label, ModelName, QueryModel, Status, WeightOut


class ModelFilter(QueryModel):
    model: ModelName | None = Field(default=None, description="Only versions of this model")


class StatsEntry(BaseModel):
    model_id: str
    model_name: str
    model_version: str
    status: Status
    traffic_percent: WeightOut
    request_count: int
    avg_latency: float | None = Field(description="Mean inference time, ms")
    avg_confidence: float | None
    p50_latency: float | None = Field(description="ms, within ±2% (log-spaced histogram)")
    p95_latency: float | None
    p99_latency: float | None
    prediction_counts: dict[Label, int]
    routing_counts: dict[Literal["sticky", "random", "explicit", "shadow"], int]
    error_count: int = Field(default=0, description="Requests routed to the version that failed with a 5xx")
    first_prediction_at: datetime | None
    last_prediction_at: datetime | None
    refreshed_at: datetime | None


class Recommendation(BaseModel):
    model_id: str
    model_version: str
    reason: str
    compared: list[dict[str, Any]]


class Performance(BaseModel):
    model_name: str | None
    models: list[StatsEntry]
    total_requests: int
    recommendation: Recommendation | None
    recommendation_note: str | None = Field(
        default=None, description="Without a recommendation: why, and what is missing"
    )
    basis: Literal["outcomes", "confidence"] | None = Field(
        default=None,
        description="outcomes: the experiment's decision on accuracy from feedback; confidence: the versions' own "
        "confidence, then latency (no feedback yet); null before the first stats refresh",
    )
    refreshed_at: datetime | None = Field(default=None, description="The last stats refresh; null if none has run")


class RefreshQueued(BaseModel):
    status: Literal["queued"]
    task_id: str


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
