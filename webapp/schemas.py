"""The types the domains' requests and answers share, and the error shape (each domain's own: its `schemas.py`)."""

from __future__ import annotations

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
)
from pydantic_core import PydanticCustomError

SEMVER_PATTERN = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)
MAX_TEXT_CHARS = 5000
MAX_USER_ID_CHARS = 256  # the log's user_id column
# The worker's row validators (format-1 batches, failures); requests say it in words (`storable`).
NO_NUL_PATTERN = r"^[^\x00]*$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def storable(value: str) -> str:
    """The text as given, when the log can store it: no NUL character."""
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
    Annotated[str, StringConstraints(min_length=1, max_length=MAX_USER_ID_CHARS), AfterValidator(storable)],
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


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail
