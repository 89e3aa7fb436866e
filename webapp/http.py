"""Request parsing and response shaping shared by every blueprint."""

from __future__ import annotations

from typing import TypeVar

from flask import Response, current_app, request
from pydantic import BaseModel, TypeAdapter, ValidationError

from .errors import MalformedJson, PayloadTooLarge, UnsupportedMediaType, too_large_message, validation_failed

Body = TypeVar("Body", bound=BaseModel)
MAX_BODY_BYTES = 64 * 1024
JSON = "application/json"
# The methods that change state: each needs `Content-Type: application/json` (`require_json_body`).
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def require_json_body() -> None:
    """Before each request: a state-changing call must send `Content-Type: application/json`, else 415.

    A browser lets any page send a form-encoded, multipart or text/plain POST (or one with no type)
    to another site without asking it first; a JSON type makes it ask (a CORS preflight), which this
    service never grants. So no page a user visits can change the registry through their browser,
    bodiless calls (deactivate, pause...) included. Requests that match no route keep their 404/405.
    """
    if request.method not in WRITE_METHODS or request.url_rule is None:
        return
    spec = getattr(current_app.view_functions.get(request.endpoint), "endpoint_spec", None)
    expected = spec.content_type if spec is not None else JSON
    if request.mimetype == expected:
        return
    if expected == JSON:
        message = "send the body as JSON, with 'Content-Type: application/json' (an empty body reads as {})"
    else:  # a file upload: its own type is just as unsendable across sites without a preflight
        message = f"send the file as the body, with 'Content-Type: {expected}'"
    raise UnsupportedMediaType(message, {"content_type": request.mimetype or None})


def parse_json(model: type[Body]) -> Body:
    """Validate the JSON body (an empty one reads as {}) against `model`: 400 or 422 with the failing
    fields named. Its type was checked before the view ran (`require_json_body`)."""
    body = read_body() or b"{}"
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            raise MalformedJson("the request body is not valid JSON") from None
        raise validation_failed(exc) from None


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
        raise _too_large(limit)
    body = environ["wsgi.input"].read(length)
    if len(body) > limit:
        raise _too_large(limit)
    return body


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(too_large_message(limit), {"limit_bytes": limit})


def parse_query(model: type[Body]) -> Body:
    """Validate the query string against `model`: 422 with the failing parameters named."""
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise validation_failed(exc, "query") from None


def json_response(
    payload: BaseModel | list[BaseModel], status: int = 200, adapter: TypeAdapter | None = None
) -> Response:
    """Serialize a response model (or a list through `adapter`) straight to JSON bytes."""
    body = adapter.dump_json(payload) if adapter is not None else payload.model_dump_json()  # type: ignore[union-attr]
    return Response(body, status=status, mimetype="application/json")


def content_security_policy(style_hashes: tuple[str, ...] = ()) -> str:
    """The HTML pages' policy: this server's own scripts and styles only (plus inline styles with
    these SHA-256 hashes, for a vendor's injected stylesheet), images also from data: URLs (Swagger
    UI's icons), and no framing by any site."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            " ".join(("style-src 'self'", *(f"'sha256-{digest}'" for digest in style_hashes))),
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def html_page(html: str, policy: str) -> Response:
    """An HTML page under `policy` (every response also says nosniff: webapp/request_hooks.py)."""
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = policy
    return response
