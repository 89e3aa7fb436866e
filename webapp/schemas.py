"""Request and response models: the single source for validation and for the API contract."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .inference import PREDICTORS

SEMVER_PATTERN = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)
MAX_TEXT_CHARS = 5000
MAX_USER_ID_CHARS = 256  # the log's user_id column
# The worker's row validators (format-1 batches, failures); requests say it in words (`_storable`).
NO_NUL_PATTERN = r"^[^\x00]*$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def _storable(value: str) -> str:
    # Postgres text cannot hold NUL, and a prediction whose log cannot be stored must not be answered.
    # JSON parsing already refuses what is not a character (a lone surrogate): every other one is stored.
    if "\x00" in value:
        raise PydanticCustomError(
            "nul_character", "must not contain the NUL character (\\u0000), which the log cannot store"
        )
    return value


def _decimal_string(value: Any) -> Any:
    # An integer user_id is its decimal string, then bound like any other: 2^63 and 10^300 alike.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


ModelName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9._-]{1,64}$")]
SemVer = Annotated[str, StringConstraints(pattern=SEMVER_PATTERN, max_length=64)]
UserId = Annotated[
    Annotated[str, StringConstraints(min_length=1, max_length=MAX_USER_ID_CHARS), AfterValidator(_storable)],
    BeforeValidator(_decimal_string),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "minLength": 1, "maxLength": MAX_USER_ID_CHARS},
                {"type": "integer", "description": "taken as its decimal string, 256 digits at most"},
            ]
        }
    ),
]


def _number_only(value: Any) -> Any:
    # Decimal fields would take "50" from JSON even in strict mode; a weight is a JSON number.
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("a weight is a number from 0 to 100")
    return Decimal(str(value))  # str: 0.1 is Decimal("0.1"), not the float's binary expansion


def weight_number(value: Decimal | int) -> int | float:
    """A weight for JSON: a whole number when it is one (50, not 50.0), else a float (12.5)."""
    return int(value) if value == int(value) else float(value)


Percent = Annotated[
    Decimal,
    BeforeValidator(_number_only),
    Field(ge=0, le=100, decimal_places=2),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 100, "description": "0 to 100, at most 2 decimals"}),
]
WeightOut = Annotated[
    Decimal, PlainSerializer(weight_number, return_type=int | float), WithJsonSchema({"type": "number"})
]
Label = Literal["positive", "negative", "neutral"]
Status = Literal["inactive", "active", "archived"]


class RequestModel(BaseModel):
    """Requests are strict: no unknown fields, no type coercion from strings."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class QueryModel(BaseModel):
    """Query strings: every value arrives as a string; unknown parameters are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


# ---- registry ----


class RegisterModel(RequestModel):
    name: ModelName = Field(description="1 to 64 of a-z 0-9 . _ -")
    version: SemVer = Field(description="A semantic version, e.g. 1.0.0")
    description: Annotated[str, StringConstraints(max_length=2000), AfterValidator(_storable)] | None = None
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


# ---- prediction ----


class PredictRequest(RequestModel):
    text: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT_CHARS),
        AfterValidator(_storable),
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


# ---- statistics ----


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
    recommendation_note: str | None = None


class RefreshQueued(BaseModel):
    status: Literal["queued"]
    task_id: str


class Health(BaseModel):
    status: Literal["ok"]
    components: dict[str, Any] = Field(description="database, cache, broker, routing, log_pipeline")


# ---- audit ----


class AuditQuery(QueryModel):
    model: ModelName | None = Field(default=None, description="Only changes to this model name")
    limit: Annotated[int, Field(ge=1, le=500)] = Field(default=50, description="Entries per page, 1 to 500")
    before: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = Field(
        default=None, description="Cursor: only entries with an id below this one (the previous page's next_before)"
    )


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    action: str = Field(description="register, activate, deactivate, delete, split, shadow")
    model_name: str
    model_id: str | None
    before: Any
    after: Any
    actor: str = Field(description="key:<first 12 hex of the key's SHA-256>, anonymous, or cli:<user>")
    request_id: str


class AuditPage(BaseModel):
    entries: list[AuditEntryOut] = Field(description="Newest first")
    next_before: int | None = Field(description="Pass as ?before= for the next page; null on the last page")


# ---- errors ----


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail
