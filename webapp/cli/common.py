"""What every ops command shares: `--json`, exit codes, and argument validation.

Exit 0 on success, the answer on stdout; 1 on a domain error (an ApiError from the service: the
same refusal the REST API answers with a 4xx), its message on stderr; 2 on usage (click's own: a
missing argument, an unknown command or option, a value of the wrong type; and arguments that fail
the request schema, such as a percent of 150 or weights over 100). Under `--json` every error,
usage errors included, is the REST API's error shape on stderr, `{"error": {"code", "message",
"details"}}` (code `usage_error` for exit 2); the exit codes stay the same.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import click
from flask import current_app
from flask.cli import AppGroup
from pydantic import BaseModel, TypeAdapter, ValidationError

from ..errors import ApiError, validation_details

Request = TypeVar("Request", bound=BaseModel)
_ANY = TypeAdapter(Any)
DOMAIN_ERROR_EXIT = 1
JSON_FLAG = "--json"
_JSON_ASKED = "ops.json_asked"  # in the click context's meta, shared by a group and its commands


def error_shape(code: str, message: str, details: Any = None) -> str:
    """The REST API's error shape as one JSON line."""
    return json.dumps({"error": {"code": code, "message": message, "details": details}}, default=str)


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
        click.echo(error_shape(self.error.code, self.error.message, self.error.details), err=True)


class JsonUsageError(click.UsageError):
    """A usage error under `--json`: exit 2, the JSON error shape on stderr instead of click's text."""

    def __init__(self, error: click.UsageError) -> None:
        super().__init__(error.format_message(), error.ctx)

    def show(self, file: Any = None) -> None:
        usage = self.ctx.get_usage() if self.ctx is not None else None
        click.echo(error_shape("usage_error", self.format_message(), {"usage": usage}), err=True)


def _usage_error(error: click.UsageError, as_json: bool) -> click.UsageError:
    return JsonUsageError(error) if as_json and not isinstance(error, JsonUsageError) else error


class OpsGroup(AppGroup):
    """A command group whose usage errors, when `--json` was asked for, are JSON too.

    Click reports a missing argument, an unknown command or a value of the wrong type while it
    parses, before the command runs: so the group, which parses its commands, words them.
    """

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra):
        asked = JSON_FLAG in args
        try:
            ctx = super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as error:
            raise _usage_error(error, asked) from None
        ctx.meta[_JSON_ASKED] = asked
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            raise _usage_error(error, ctx.meta.get(_JSON_ASKED, False)) from None


def ops_group(group: click.Group) -> OpsGroup:
    """`group` as an OpsGroup (a plain AppGroup's commands moved into one), for register_cli."""
    if isinstance(group, OpsGroup):
        return group
    return OpsGroup(group.name, commands=group.commands, help=group.help, short_help=group.short_help)


def ops_command(function: Callable) -> Callable:
    """Add `--json`; turn ApiError into exit code 1 and, under `--json`, a usage error into JSON."""

    @click.option(JSON_FLAG, "as_json", is_flag=True, help="Print machine-readable JSON (errors too, on stderr).")
    @functools.wraps(function)
    def run(*args: Any, as_json: bool, **kwargs: Any) -> None:
        try:
            function(*args, as_json=as_json, **kwargs)
        except ApiError as error:
            raise DomainError(error, as_json) from None
        except click.UsageError as error:
            raise _usage_error(error, as_json) from None

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
        details = validation_details(exc, "the arguments")
        raise click.UsageError("; ".join(detail["message"] for detail in details)) from None


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
