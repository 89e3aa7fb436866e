"""Request parsing and response shaping shared by every blueprint."""

from __future__ import annotations

from typing import TypeVar

from flask import Response, request
from pydantic import BaseModel, TypeAdapter, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from .errors import MalformedJson, UnsupportedMediaType, ValidationFailed, validation_details

Body = TypeVar("Body", bound=BaseModel)
MAX_BODY_BYTES = 64 * 1024


def parse_json(model: type[Body]) -> Body:
    """Validate the JSON body against `model`: 415, 400 or 422 with the failing fields named."""
    mimetype = request.mimetype
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType(
            "send the body as JSON with 'Content-Type: application/json'", {"content_type": mimetype or None}
        )
    body = read_body()
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            raise MalformedJson("the request body is not valid JSON" if body else "the request body is empty") from None
        details = validation_details(exc)
        fields = sorted({detail["field"] or "body" for detail in details})
        raise ValidationFailed(f"invalid {', '.join(fields)}", details) from None


def read_body() -> bytes:
    """The request body; 413 beyond the request's `max_content_length`, chunked or not.

    Read straight from the server's input: werkzeug wraps a terminated input (gunicorn's) in a
    stream bounded by the limit, whose chunked reads cost the hot path more than parsing the JSON
    does, and which cuts a chunked body at the limit instead of refusing it.
    """
    environ = request.environ
    limit = request.max_content_length or MAX_BODY_BYTES
    length = request.content_length
    if length is None:
        if not environ.get("wsgi.input_terminated"):
            return b""  # without it a server cannot say where a chunked body ends (werkzeug's rule)
        length = limit + 1
    elif length > limit:
        raise RequestEntityTooLarge()
    body = environ["wsgi.input"].read(length)
    if len(body) > limit:
        raise RequestEntityTooLarge()
    return body


def parse_query(model: type[Body]) -> Body:
    """Validate the query string against `model`: 422 with the failing parameters named."""
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        details = validation_details(exc)
        fields = sorted({detail["field"] or "query" for detail in details})
        raise ValidationFailed(f"invalid {', '.join(fields)}", details) from None


def json_response(
    payload: BaseModel | list[BaseModel], status: int = 200, adapter: TypeAdapter | None = None
) -> Response:
    """Serialize a response model (or a list through `adapter`) straight to JSON bytes."""
    body = adapter.dump_json(payload) if adapter is not None else payload.model_dump_json()  # type: ignore[union-attr]
    return Response(body, status=status, mimetype="application/json")
