"""The ops CLI: the REST API's service functions from a terminal, against the real Postgres."""

from __future__ import annotations

import getpass
import json

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import select

from webapp.audit.models import AuditLog
from webapp.extensions import db

OS_ACTOR = f"cli:{getpass.getuser()}"


def flask_cli(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def register(app: Flask, version: str, name: str = "sentiment") -> dict:
    result = flask_cli(app, "models", "register", name, version, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_register_answers_the_same_shape_as_the_rest_api(app, client):
    created = register(app, "1.0.0")
    assert created["status"] == "inactive" and created["algorithm"] == "textblob-basic"
    assert client.get("/models").get_json() == [created]


def test_models_list_shows_each_version_in_json_and_as_a_table(app):
    register(app, "1.0.0")
    register(app, "2.0.0")
    listed = json.loads(flask_cli(app, "models", "list", "--json").stdout)
    assert [version["version"] for version in listed] == ["1.0.0", "2.0.0"]
    table = flask_cli(app, "models", "list").stdout
    assert "1.0.0" in table and "2.0.0" in table and "inactive" in table


def test_a_version_is_named_by_id_or_by_name_and_version(app):
    created = register(app, "1.0.0")
    by_id = json.loads(flask_cli(app, "models", "show", created["model_id"], "--json").stdout)
    by_name = json.loads(flask_cli(app, "models", "show", "sentiment", "1.0.0", "--json").stdout)
    assert by_id == by_name == created


def test_activate_deactivate_and_delete_change_the_registry_and_routing(app, client):
    register(app, "1.0.0")
    result = flask_cli(app, "models", "activate", "sentiment", "1.0.0", "--percent", "12.5", "--json")
    activated = json.loads(result.stdout)
    assert activated["status"] == "active" and activated["traffic_percent"] == 12.5
    split = client.get("/models/sentiment/split").get_json()
    assert [v["traffic_percent"] for v in split["versions"]] == [12.5]
    assert flask_cli(app, "models", "deactivate", "sentiment", "1.0.0").exit_code == 0
    deleted = json.loads(flask_cli(app, "models", "delete", "sentiment", "1.0.0", "--json").stdout)
    assert deleted["status"] == "archived"


def test_split_set_moves_traffic_and_split_show_reads_it(app, client):
    register(app, "1.0.0")
    register(app, "2.0.0")
    result = flask_cli(app, "split", "set", "sentiment", "1.0.0=90", "2.0.0=10", "--json")
    assert result.exit_code == 0, result.output
    answered = json.loads(result.stdout)
    assert {v["version"]: v["slots"] for v in answered["versions"]} == {"1.0.0": 9000, "2.0.0": 1000}
    shown = json.loads(flask_cli(app, "split", "show", "sentiment", "--json").stdout)
    assert shown == answered == client.get("/models/sentiment/split").get_json()
    assert "9000 slots" in flask_cli(app, "split", "show", "sentiment").stdout


def test_split_set_with_a_stale_if_match_exits_1_and_changes_nothing(app):
    register(app, "1.0.0")
    register(app, "2.0.0")
    shown = json.loads(flask_cli(app, "split", "set", "sentiment", "1.0.0=100", "--json").stdout)
    flask_cli(app, "models", "register", "sentiment", "3.0.0")  # a change since the split was read
    stale = flask_cli(app, "split", "set", "sentiment", "2.0.0=100", "--if-match", str(shown["config_version"]))
    assert stale.exit_code == 1 and "changed since it was read" in stale.stderr
    assert json.loads(flask_cli(app, "split", "show", "sentiment", "--json").stdout)["versions"] == shown["versions"]
    current = json.loads(flask_cli(app, "split", "show", "sentiment", "--json").stdout)["config_version"]
    fresh = flask_cli(app, "split", "set", "sentiment", "2.0.0=100", "--if-match", str(current))
    assert fresh.exit_code == 0, fresh.output


def test_registry_changes_are_audited_with_the_os_user_as_actor(app):
    register(app, "1.0.0")
    register(app, "2.0.0")
    flask_cli(app, "split", "set", "sentiment", "1.0.0=50", "2.0.0=50")
    flask_cli(app, "models", "deactivate", "sentiment", "2.0.0")
    with app.app_context():
        entries = db.session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
    assert [(entry.action, entry.actor) for entry in entries] == [
        ("register", OS_ACTOR),
        ("register", OS_ACTOR),
        ("split", OS_ACTOR),
        ("deactivate", OS_ACTOR),
    ]


@pytest.mark.parametrize(
    "args",
    [
        ("models", "show", "00000000-0000-0000-0000-000000000000"),
        ("models", "show", "sentiment", "9.9.9"),
        ("split", "show", "nonexistent"),
        ("split", "set", "sentiment", "1.0.0=60", "3.0.0=10"),
        ("experiment", "show", "nonexistent"),
    ],
)
def test_a_domain_error_exits_1_with_its_message_on_stderr(app, args):
    register(app, "1.0.0")
    result = flask_cli(app, *args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: ") and result.stdout == ""


def test_a_conflict_exits_1_and_changes_nothing(app):
    register(app, "1.0.0")
    result = flask_cli(app, "models", "register", "sentiment", "1.0.0", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stderr)["error"]["code"] == "conflict"
    flask_cli(app, "models", "activate", "sentiment", "1.0.0", "--percent", "50")
    refused = flask_cli(app, "models", "delete", "sentiment", "1.0.0")
    assert refused.exit_code == 1 and "deactivate it first" in refused.stderr
    shown = json.loads(flask_cli(app, "models", "show", "sentiment", "1.0.0", "--json").stdout)
    assert shown["status"] == "active"


@pytest.mark.parametrize(
    "args",
    [
        ("models", "frobnicate"),
        ("models", "show"),
        ("models", "activate", "sentiment", "1.0.0"),
        ("models", "activate", "sentiment", "1.0.0", "--percent", "fifty"),
        ("models", "activate", "sentiment", "1.0.0", "--percent", "150"),
        ("models", "activate", "sentiment", "1.0.0", "--percent", "1.005"),
        ("models", "register", "sentiment", "not-semver"),
        ("models", "register", "sentiment", "3.0.0", "--params", "{not json"),
        ("split", "set", "sentiment", "1.0.0"),
        ("split", "set", "sentiment", "1.0.0=70", "2.0.0=40"),
        ("split", "set", "sentiment"),
        ("experiment", "show", "sentiment", "--mde", "2"),
    ],
)
def test_a_usage_error_exits_2_and_changes_nothing(app, args):
    register(app, "1.0.0")
    register(app, "2.0.0")
    result = flask_cli(app, *args)
    assert result.exit_code == 2, result.output
    listed = json.loads(flask_cli(app, "models", "list", "--json").stdout)
    assert [(v["version"], v["status"]) for v in listed] == [("1.0.0", "inactive"), ("2.0.0", "inactive")]


def test_experiment_show_gives_the_report_of_the_rest_api(app, client):
    register(app, "1.0.0")
    register(app, "2.0.0")
    flask_cli(app, "split", "set", "sentiment", "1.0.0=50", "2.0.0=50")
    result = flask_cli(app, "experiment", "show", "sentiment", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == client.get("/experiments/sentiment").get_json()
    assert "decision: insufficient_data" in flask_cli(app, "experiment", "show", "sentiment").stdout


def test_stats_refresh_reports_what_it_folded(app):
    result = flask_cli(app, "stats", "refresh", "--json")
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)) >= {"rows", "versions", "duration_ms", "skipped"}
    assert "folded 0 rows" in flask_cli(app, "stats", "refresh").stdout


def test_every_ops_command_takes_json(app):
    for group in ("models", "split", "experiment", "stats"):
        for name, command in app.cli.commands[group].commands.items():
            assert "--json" in [opt for param in command.params for opt in param.opts], f"{group} {name}"
