"""Domain errors and the one place that turns every failure into the JSON error shape."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, has_request_context, jsonify, request
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# Werkzeug's HTTP errors keep their status; this names them in our codes.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "service_unavailable",
}


class ApiError(Exception):
    """An error a client can act on. Views raise these; they never build error responses."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class MalformedJson(ApiError):
    status, code = 400, "malformed_json"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class PreconditionFailed(ApiError):
    status, code = 412, "precondition_failed"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class ValidationFailed(ApiError):
    status, code = 422, "validation_error"


class PredictionFailed(ApiError):
    """The routed version raised while predicting: the server's fault, counted against that version."""

    status, code = 500, "prediction_failed"


class ServiceUnavailable(ApiError):
    status, code = 503, "service_unavailable"


def error_response(status: int, code: str, message: str, details: Any = None):
    body = {"error": {"code": code, "message": message, "details": details}}
    return jsonify(body), status


# The translation from pydantic's errors to sentences a person reads: "user_id must be a string of
# 1 to 256 characters", never a regular expression, a Python type name or "Value error, ".
MESSAGES_SHOWN = 3
# What a value of the wrong type must be instead, per pydantic error type.
_KINDS = {
    "string_type": "a string",
    "string_unicode": "a string",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "decimal_type": "a number",
    "decimal_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "list_type": "an array",
    "tuple_type": "an array",
    "set_type": "an array",
    "none_required": "null",
    "datetime_type": "a date and time",
    "datetime_parsing": "a date and time",
}
# Rules with a bound, in words; `{}` is the bound from the error's context.
_BOUNDS = {
    "greater_than_equal": ("ge", "must be at least {}"),
    "greater_than": ("gt", "must be more than {}"),
    "less_than_equal": ("le", "must be at most {}"),
    "less_than": ("lt", "must be less than {}"),
    "multiple_of": ("multiple_of", "must be a multiple of {}"),
    "string_too_long": ("max_length", "must be at most {} characters long"),
    "too_long": ("max_length", "must hold at most {} items"),
    "decimal_max_places": ("decimal_places", "must have at most {} decimal places"),
    "decimal_max_digits": ("max_digits", "must have at most {} digits"),
    "decimal_whole_digits": ("whole_digits", "must have at most {} digits before the decimal point"),
    "literal_error": ("expected", "must be {}"),
    "enum": ("expected", "must be {}"),
}
_FIXED = {
    "missing": "is required",
    "extra_forbidden": "is not a field this request takes",
    "finite_number": "must be a finite number",
    "json_invalid": "is not valid JSON",
    "string_pattern_mismatch": "is not in the expected form",
}
_PREFIXES = ("Value error, ", "Assertion failed, ")
# A union's branches appear in an error's location under pydantic's name for their type
# ("constrained-str", "int", "function-after[...]"); a person knows the field, not the branch.
_BRANCH = re.compile(
    r"[a-z]+(?:-[a-z]+)*\[.*\]|constrained-[a-z]+|str|int|float|bool|bytes|dict|list|tuple|set|decimal|none"
)


def plain_details(errors: list[Any], whole: str = "the body") -> list[dict[str, Any]]:
    """One detail per failing field, `{"field", "message", "type"}`, the message a sentence naming the field."""
    by_field: dict[str | None, list[tuple[str, str]]] = {}
    for error in errors:
        field, subject = _where(error["loc"], whole)
        by_field.setdefault(field, []).append((error["type"], _sentence(error, subject)))
    return [_one_detail(field, found) for field, found in by_field.items()]


def _where(loc: tuple, whole: str) -> tuple[str | None, str]:
    """The field's dotted path (None: the whole body) and how a sentence names it."""
    parts = []
    for part in loc:
        if isinstance(part, str) and _BRANCH.fullmatch(part):
            break
        if isinstance(part, str) and " " in part:  # a tagged union's tag (no field name has a space)
            continue
        parts.append(str(part))
    is_key = parts[-1:] == ["[key]"]
    field = ".".join(parts[:-1] if is_key else parts) or None
    if is_key:
        return field, f"the key {field}"
    return field, field or whole


def _sentence(error: dict[str, Any], subject: str) -> str:
    kind, context = error["type"], error.get("ctx") or {}
    if kind in _KINDS:
        return f"{subject} must be {_KINDS[kind]}"
    if kind == "string_too_short":
        least = context.get("min_length", 1)
        return f"{subject} must not be empty" if least == 1 else f"{subject} must be at least {least} characters long"
    if kind == "too_short":
        return f"{subject} must hold at least {context.get('min_length', 1)} item(s)"
    if kind in _BOUNDS and _BOUNDS[kind][0] in context:
        name, rule = _BOUNDS[kind]
        return f"{subject} {rule.format(context[name])}"
    if kind in _FIXED:
        return f"{subject} {_FIXED[kind]}"
    message = str(error["msg"])
    for prefix in _PREFIXES:
        message = message.removeprefix(prefix)
    # Our own rules (webapp/schemas.py) say what the value must be: "must be a semantic version ...".
    return f"{subject} {message}" if message.startswith(("must ", "is ")) else f"{subject}: {message}"


def _one_detail(field: str | None, found: list[tuple[str, str]]) -> dict[str, Any]:
    """A field's errors as one: a union's wrong-type branches become "must be a string or a whole number"."""
    if len(found) == 1:
        kind, message = found[0]
        return {"field": field, "message": message, "type": kind}
    wrong_type = [kind for kind, _ in found if kind in _KINDS]
    if len(wrong_type) == len(found):
        kinds = list(dict.fromkeys(_KINDS[kind] for kind in wrong_type))
        subject = found[0][1].rsplit(" must be ", 1)[0]
        return {"field": field, "message": f"{subject} must be {' or '.join(kinds)}", "type": "type_error"}
    rules = [(kind, message) for kind, message in found if kind not in _KINDS]
    messages = list(dict.fromkeys(message for _, message in rules))
    return {"field": field, "message": "; ".join(messages), "type": rules[0][0]}


def too_large_message(limit: int) -> str:
    """A 413's message: the limit in bytes."""
    return f"the request body is too large: this endpoint takes at most {limit} bytes ({limit // 1024} KB)"


def validation_details(exc: ValidationError, whole: str = "the body") -> list[dict[str, Any]]:
    """Pydantic's errors as plain sentences, one per field: the field and its rule in words, no input echoed."""
    return plain_details(exc.errors(include_url=False, include_input=False), whole)


def validation_failed(exc: ValidationError, where: str = "body") -> ValidationFailed:
    """A 422 whose message is the failing fields' sentences (the first few) and whose details list them all."""
    details = validation_details(exc, f"the {where}")
    message = "; ".join(detail["message"] for detail in details[:MESSAGES_SHOWN])
    if len(details) > MESSAGES_SHOWN:
        message += f"; and {len(details) - MESSAGES_SHOWN} more (see details)"
    return ValidationFailed(message or f"the {where} is not valid", details)


def register_error_handlers(app: Flask) -> None:
    """Route every exception to the JSON error shape; nothing else reaches a client."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        message, details = exc.description or exc.name, None
        if status == 413 and has_request_context() and request.max_content_length:
            message, details = (
                too_large_message(request.max_content_length),
                {"limit_bytes": request.max_content_length},
            )
        body, status = error_response(status, _HTTP_CODES.get(status, "http_error"), message, details)
        # Keep what the protocol requires, such as a 405's Allow header.
        headers = [(name, value) for name, value in exc.get_headers() if name.lower() != "content-type"]
        return body, status, headers

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeoutError)
    def _database_down(exc: Exception):
        log.warning("database unavailable: %s", str(exc).splitlines()[0])
        return error_response(503, "database_unavailable", "The database is unavailable; retry shortly.")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Internal server error.")
