"""What every ops command shares: `--json`, exit codes, and argument validation.

Exit 0 on success; 1 on a domain error (an ApiError from the service: the same refusal the REST
API answers with a 4xx), its message on stderr; 2 on usage (click's own, and arguments that fail
the request schema).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import click
from flask import current_app
from pydantic import BaseModel, TypeAdapter, ValidationError

from ..errors import ApiError, validation_details

Request = TypeVar("Request", bound=BaseModel)
_ANY = TypeAdapter(Any)
DOMAIN_ERROR_EXIT = 1


class DomainError(click.ClickException):
    """A refusal from the service: exit 1, the message (or the JSON error shape) on stderr."""

    exit_code = DOMAIN_ERROR_EXIT

    def __init__(self, error: ApiError, as_json: bool) -> None:
        super().__init__(error.message)
        self.error = error
        self.as_json = as_json

    def show(self, file: Any = None) -> None:
        if not self.as_json:
            super().show(file)
            return
        shape = {"error": {"code": self.error.code, "message": self.error.message, "details": self.error.details}}
        click.echo(json.dumps(shape, default=str), err=True)


def ops_command(function: Callable) -> Callable:
    """Add `--json` and turn ApiError into exit code 1."""

    @click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
    @functools.wraps(function)
    def run(*args: Any, as_json: bool, **kwargs: Any) -> None:
        try:
            function(*args, as_json=as_json, **kwargs)
        except ApiError as error:
            raise DomainError(error, as_json) from None

    return run


class DecimalType(click.ParamType):
    """A number kept exact (0.1 stays 0.1), for weights and percents."""

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Decimal:
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            self.fail(f"{value!r} is not a number", param, ctx)
        if not number.is_finite():
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


DECIMAL = DecimalType()


def validated(model: type[Request], data: dict[str, Any]) -> Request:
    """Check arguments against the REST request schema; a failure is a usage error (exit 2)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = validation_details(exc)
        problems = "; ".join(f"{detail['field'] or 'arguments'}: {detail['message']}" for detail in details)
        raise click.UsageError(problems) from None


def emit(payload: Any, as_json: bool, lines: Callable[[], Iterable[str]]) -> None:
    """Print `payload` (a response model, or lists and dicts of them) as JSON, or the human `lines`."""
    if as_json:
        click.echo(_ANY.dump_json(payload).decode())
        return
    for line in lines():
        click.echo(line)


def publish_routing() -> None:
    """Tell every web process about a committed registry change (as the REST views do)."""
    current_app.extensions["router"].publish_from_database()
