"""Under `--json` every outcome of every ops command is JSON: answers on stdout, errors on stderr.

The exit codes are the documented ones (webapp/cli/common.py): 0 done, 1 refused by the service,
2 usage (click's own errors found while parsing, and arguments the request schema refuses).
"""

from __future__ import annotations

import json

import pytest
from click.testing import Result
from flask import Flask

from tests.test_plain_errors import leaks_of


def flask_cli(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def json_error(result: Result, exit_code: int) -> dict:
    """The error shape a --json command printed on stderr, with nothing on stdout."""
    assert result.exit_code == exit_code, (result.stdout, result.stderr)
    assert result.stdout == ""
    body = json.loads(result.stderr)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert not leaks_of(body["error"]["message"]), body
    return body["error"]


@pytest.fixture
def registered(app: Flask) -> Flask:
    for version in ("1.0.0", "2.0.0"):
        assert flask_cli(app, "models", "register", "sentiment", version, "--json").exit_code == 0
    return app


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("models", "activate", "sentiment", "1.0.0", "--percent", "150"), "percent must be at most 100"),
        (("split", "set", "sentiment", "1.0.0=70", "2.0.0=40"), "the weights add up to 110, over 100"),
        (("split", "set", "sentiment", "1.0.0"), "is not VERSION=WEIGHT"),
        (("models", "register", "sentiment", "not-semver"), "version must be a semantic version"),
        (("models", "activate", "sentiment", "1.0.0", "--percent", "fifty"), "'fifty' is not a number"),
        (("models", "activate", "sentiment", "1.0.0"), "Missing option '--percent'"),
        (("models", "show"), "Missing argument"),
        (("split", "set"), "Missing argument 'NAME'"),
        (("models", "frobnicate"), "No such command 'frobnicate'"),
        (("experiment", "show", "sentiment", "--mde", "2"), "is not in the range 0.001<=x<1"),
        (("bandit", "start", "sentiment", "--versions", "1.0.0", "--metric", "clicks"), "clicks"),
        (("rollout", "start", "sentiment"), "Missing"),
    ],
)
def test_a_usage_error_under_json_is_json_and_exits_2(registered, args, words):
    error = json_error(flask_cli(registered, *args, "--json"), 2)
    assert error["code"] == "usage_error" and words in error["message"], error
    assert error["details"]["usage"].startswith("Usage: ")


def test_without_json_a_usage_error_stays_clicks_text(registered):
    result = flask_cli(registered, "models", "activate", "sentiment", "1.0.0", "--percent", "150")
    assert result.exit_code == 2 and result.stderr.startswith("Usage: ")
    assert "percent must be at most 100" in result.stderr


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("bandit", "status", "sentiment"), "not_found"),
        (("bandit", "stop", "sentiment"), "not_found"),
        (("split", "show", "nope"), "not_found"),
        (("models", "show", "sentiment", "9.9.9"), "not_found"),
        (("models", "register", "sentiment", "1.0.0"), "conflict"),
        (("experiment", "show", "nope"), "not_found"),
    ],
)
def test_a_refusal_under_json_is_json_and_exits_1(registered, args, code):
    assert json_error(flask_cli(registered, *args, "--json"), 1)["code"] == code


def test_bandit_status_with_no_bandit_says_so_in_json(registered):
    error = json_error(flask_cli(registered, "bandit", "status", "sentiment", "--json"), 1)
    assert error["message"] == "model 'sentiment' has no running bandit"


def test_every_command_of_every_group_takes_json(app: Flask):
    groups = [command for name, command in app.cli.commands.items() if hasattr(command, "commands")]
    assert {group.name for group in groups} >= {"models", "split", "experiment", "stats", "logs", "rollout", "bandit"}
    for group in groups:
        if group.name in ("db", "routes", "shell", "run"):
            continue
        for name, command in group.commands.items():
            assert "--json" in [opt for param in command.params for opt in param.opts], f"{group.name} {name}"
