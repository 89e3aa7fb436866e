"""The types the domains' requests and answers share, and the error shape (each domain's own: its `schemas.py`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
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


MODEL_NAME_PATTERN = r"^[a-z0-9._-]{1,64}$"
NUL_RULE = "must not contain the NUL character (code point 0), which the log cannot store"


def storable(value: str) -> str:
    """The text as given, when the log can store it: no NUL character."""
    # Postgres text cannot hold NUL, and a prediction whose log cannot be stored must not be answered.
    # JSON parsing already refuses what is not a character (a lone surrogate): every other one is stored.
    if "\x00" in value:
        raise PydanticCustomError("nul_character", NUL_RULE)
    return value


def plain_string(code: str, rule: str, accepts: Callable[[str], bool], json_schema: dict[str, Any]) -> Any:
    """A string type whose every failure says `rule` in words (no regular expression in an error);
    the OpenAPI document keeps `json_schema`, its pattern included."""

    def check(value: Any) -> Any:
        if not isinstance(value, str) or not accepts(value):
            raise PydanticCustomError(code, rule)
        return value

    return Annotated[str, BeforeValidator(check), WithJsonSchema({"type": "string", **json_schema})]


def _user_id(value: Any) -> Any:
    # An integer user_id is its decimal string, then bound like any other: 2^63 and 10^300 alike.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_USER_ID_CHARS:
        raise PydanticCustomError(
            "user_id",
            f"must be a string of 1 to {MAX_USER_ID_CHARS} characters, or an integer of at most that many digits",
        )
    return value


_SEMVER = re.compile(SEMVER_PATTERN)


def _matches(pattern: str) -> Callable[[str], bool]:
    compiled = re.compile(pattern)
    return lambda value: compiled.fullmatch(value) is not None


ModelName = plain_string(
    "model_name",
    "must be a model name: 1 to 64 characters, each a lowercase letter, a digit, '.', '_' or '-'",
    _matches(MODEL_NAME_PATTERN),
    {"pattern": MODEL_NAME_PATTERN, "minLength": 1, "maxLength": 64},
)
SemVer = plain_string(
    "semantic_version",
    "must be a semantic version such as 1.0.0 or 2.1.0-beta.1 (at most 64 characters)",
    lambda value: len(value) <= 64 and _SEMVER.fullmatch(value) is not None,
    {"pattern": SEMVER_PATTERN, "maxLength": 64},
)
UserId = Annotated[
    str,
    BeforeValidator(_user_id),
    AfterValidator(storable),
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
        raise PydanticCustomError("number_type", "must be a number from 0 to 100")
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
