"""One decorator per view declares who may call it and what it takes and answers.

The access check runs from this declaration, and `/openapi.json` is generated from it and from
the same pydantic models that validate requests, so neither can drift from the code.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, request
from pydantic import BaseModel

from .auth import Scope

# A response is a model, `list[Model]`, a raw JSON schema (dict), or None (no body).
ResponseSpec = type[BaseModel] | Any | dict[str, Any] | None


@dataclass(frozen=True)
class Endpoint:
    scope: Scope
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    responses: dict[int, ResponseSpec] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    description: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # optional request headers: name -> description
    # The body's media type for a write; anything but JSON is taken as raw bytes (a model file).
    content_type: str = "application/json"


def endpoint(
    scope: Scope,
    summary: str,
    *,
    tag: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    responses: dict[int, ResponseSpec] | None = None,
    errors: tuple[int, ...] = (),
    description: str | None = None,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> Callable[[Callable], Callable]:
    """Declare a view's access scope and contract; the returned view enforces the scope."""
    spec = Endpoint(
        scope, summary, tag, body, query, responses or {200: None}, errors, description, headers or {}, content_type
    )

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            current_app.extensions["keys"].check(spec.scope, request)
            return view(*args, **kwargs)

        guarded.endpoint_spec = spec  # type: ignore[attr-defined]
        return guarded

    return decorate
