"""Request parsing and response shaping shared by every blueprint."""

from __future__ import annotations

from typing import TypeVar

from flask import Response, request
from pydantic import BaseModel, TypeAdapter, ValidationError

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
    body = request.get_data(cache=False)  # raises 413 beyond MAX_CONTENT_LENGTH
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            raise MalformedJson("the request body is not valid JSON" if body else "the request body is empty") from None
        details = validation_details(exc)
        fields = sorted({detail["field"] or "body" for detail in details})
        raise ValidationFailed(f"invalid {', '.join(fields)}", details) from None


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
