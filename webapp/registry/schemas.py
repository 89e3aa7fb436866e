"""Registry requests and answers: register, activate, shadow, split, list."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, field_validator, model_validator

from ..inference import PREDICTORS
from ..schemas import ModelName, Percent, QueryModel, RequestModel, SemVer, Status, WeightOut, storable, weight_number


class RegisterModel(RequestModel):
    name: ModelName = Field(description="1 to 64 of a-z 0-9 . _ -")
    version: SemVer = Field(description="A semantic version, e.g. 1.0.0")
    description: Annotated[str, StringConstraints(max_length=2000), AfterValidator(storable)] | None = None
    accuracy: Annotated[float, Field(ge=0, le=1)] | None = None
    algorithm: str | None = Field(
        default=None,
        description="Model family; default: textblob-basic for major version 1, textblob-advanced for 2+",
        json_schema_extra={"enum": sorted(PREDICTORS)},
    )
    params: dict[str, Any] | None = Field(default=None, description="Parameters of the model family")

    @field_validator("algorithm")
    @classmethod
    def _known_algorithm(cls, value: str | None) -> str | None:
        if value is not None and value not in PREDICTORS:
            raise ValueError(f"unknown algorithm; expected one of {', '.join(sorted(PREDICTORS))}")
        return value

    @property
    def major_version(self) -> int:
        return int(self.version.split(".", 1)[0])


class Activate(RequestModel):
    percent: Percent | None = Field(default=None, description="Share of the model's traffic, 0 to 100")
    traffic_percent: Percent | None = Field(default=None, description="Same as percent")

    @model_validator(mode="after")
    def _exactly_one(self) -> Activate:
        if (self.percent is None) == (self.traffic_percent is None):
            raise ValueError("give exactly one of 'percent' or 'traffic_percent'")
        return self

    @property
    def value(self) -> Decimal:
        return self.percent if self.percent is not None else self.traffic_percent  # type: ignore[return-value]


class Shadow(RequestModel):
    percent: Percent = Field(description="Share of the model's routed requests to mirror, 0 (stop) to 100")


class ArtifactOut(BaseModel):
    sha256: str = Field(description="The file's SHA-256, also its ETag at GET /models/<id>/artifact")
    size_bytes: int
    format: str = Field(description="skops")
    labels: list[str] = Field(description="The classes the model predicts")
    load_seconds: float = Field(description="Time to load and prepare it, measured when it was checked")
    memory_bytes: int = Field(description="Memory the loaded model holds in each web process")
    probe_seconds: float = Field(description="Its slowest answer to the probe texts when it was checked")
    created_at: datetime


def _metric_name(value: str) -> str:
    if not all(char.isascii() and (char.isalnum() or char in "_.:-") for char in value):
        raise ValueError("a metric name holds only letters, digits and _ . : -")
    return value


MetricName = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_metric_name)]


class MetricsRequest(RequestModel):
    metrics: dict[MetricName, Annotated[float, Field(allow_inf_nan=False)]] = Field(
        min_length=1,
        max_length=50,
        description='Offline metrics measured before the version serves, e.g. {"accuracy": 0.61}',
    )


class ModelVersionOut(BaseModel):
    model_id: str
    name: str
    version: str
    description: str | None
    accuracy: float | None
    algorithm: str
    params: dict[str, Any]
    status: Status
    traffic_percent: WeightOut
    shadow_percent: WeightOut = Field(description="Share of routed requests this version mirrors after the answer")
    created_at: datetime
    activated_at: datetime | None
    archived_at: datetime | None
    artifact: ArtifactOut | None = Field(description="The trained model file of a sklearn version; null until uploaded")
    metrics: dict[str, float] = Field(description="Offline metrics measured before it served (train, POST .../metrics)")


class OnlineMetrics(BaseModel):
    accuracy: float | None = Field(description="Share of labelled feedback it predicted right; null without any")
    labelled: int = Field(description="Feedback with a true label, folded by the last stats refresh")


class ModelVersionDetail(ModelVersionOut):
    online: OnlineMetrics = Field(description="Measured in service from feedback, beside the offline `metrics`")


class SplitRequest(RequestModel):
    weights: dict[SemVer, Percent] = Field(
        min_length=1,
        description="Version -> percent. Named at 0: active, callable explicitly. Active and left out: inactive.",
    )

    @field_validator("weights")
    @classmethod
    def _at_most_100(cls, weights: dict[str, Decimal]) -> dict[str, Decimal]:
        if sum(weights.values()) > 100:
            raise ValueError(f"the weights add up to {weight_number(sum(weights.values()))}, over 100")
        return weights


class SplitVersionOut(BaseModel):
    model_id: str
    version: str
    traffic_percent: WeightOut
    slots: int = Field(description="Slots of 10,000 this version owns: its share of sticky users")


class SplitOut(BaseModel):
    name: str
    config_version: int = Field(description="The routing-config version, also sent as the ETag")
    total_percent: WeightOut
    versions: list[SplitVersionOut] = Field(description="The active versions, in activation order")


class ModelListQuery(QueryModel):
    name: ModelName | None = Field(default=None, description="Only versions of this model")
    status: Status | None = Field(default=None, description="Only versions in this status")
    limit: Annotated[int, Field(ge=1, le=1000)] | None = Field(default=None, description="At most this many versions")
    offset: Annotated[int, Field(ge=0, le=2**31 - 1)] = Field(default=0, description="Skip this many versions first")
