"""`flask rollout ...` through Click's runner, against the real database."""

from __future__ import annotations

import getpass
import json

import pytest
from sqlalchemy import select

from tests.api import activate, register
from tests.rollout_helpers import shares
from webapp.audit.models import AuditLog
from webapp.extensions import db


@pytest.fixture
def runner(app, client):
    ids = {version: register(client, version=version)["model_id"] for version in ("1.0.0", "2.0.0")}
    activate(client, ids["1.0.0"], 100)
    return app.test_cli_runner()


def test_start_status_pause_resume_abort_from_the_shell(app, client, runner):
    started = runner.invoke(args=["rollout", "start", "sentiment", "--candidate", "2.0.0", "--steps", "10,50,100",
                                  "--json"])  # fmt: skip
    assert started.exit_code == 0, started.output
    rollout = json.loads(started.output)
    assert (rollout["state"], rollout["current_percent"]) == ("running", 10)
    status = runner.invoke(args=["rollout", "status", str(rollout["id"])])
    assert status.exit_code == 0 and "running, step 1/3 (10% to 2.0.0)" in status.output
    listed = runner.invoke(args=["rollout", "status", "--model", "sentiment", "--json"])
    assert [r["id"] for r in json.loads(listed.output)] == [rollout["id"]]
    for command, state in (("pause", "paused"), ("resume", "running"), ("abort", "aborted")):
        result = runner.invoke(args=["rollout", command, str(rollout["id"]), "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["state"] == state
    assert shares(client) == {"1.0.0": 100}
    with app.app_context():
        actors = set(db.session.scalars(select(AuditLog.actor).where(AuditLog.action.like("rollout.%"))))
    assert actors == {f"cli:{getpass.getuser()}"}


def test_domain_errors_exit_1_with_the_message_on_stderr(runner):
    unknown = runner.invoke(args=["rollout", "start", "nope", "--candidate", "2.0.0"])
    assert unknown.exit_code == 1 and "no model named 'nope'" in unknown.stderr
    missing = runner.invoke(args=["rollout", "pause", "999"])
    assert missing.exit_code == 1 and "no rollout with id 999" in missing.stderr
    assert runner.invoke(args=["rollout", "start", "sentiment", "--candidate", "2.0.0"]).exit_code == 0
    second = runner.invoke(args=["rollout", "start", "sentiment", "--candidate", "2.0.0"])
    assert second.exit_code == 1 and "already has an active rollout" in second.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["rollout", "start", "sentiment"],
        ["rollout", "start", "sentiment", "--candidate", "2.0.0", "--steps", "50,10"],
        ["rollout", "start", "sentiment", "--candidate", "2.0.0", "--steps", "x"],
        ["rollout", "start", "sentiment", "--candidate", "2.0.0", "--step-seconds", "-1"],
        ["rollout", "pause", "not-a-number"],
        ["rollout", "status"],
    ],
)
def test_usage_errors_exit_2_and_change_nothing(client, runner, args):
    assert runner.invoke(args=args).exit_code == 2
    assert shares(client) == {"1.0.0": 100}
    assert client.get("/models/sentiment/rollouts").get_json() == []


def test_bandit_start_status_stop_from_the_shell(client, runner):
    started = runner.invoke(args=["bandit", "start", "sentiment", "--versions", "1.0.0,2.0.0", "--json"])
    assert started.exit_code == 0, started.output
    assert json.loads(started.output)["weights"] == {"1.0.0": 50, "2.0.0": 50}
    assert shares(client) == {"1.0.0": 50, "2.0.0": 50}
    status = runner.invoke(args=["bandit", "status", "sentiment"])
    assert status.exit_code == 0 and "running, 0 updates; 1.0.0 50%, 2.0.0 50%" in status.output
    assert runner.invoke(args=["bandit", "start", "sentiment", "--versions", "1.0.0,2.0.0"]).exit_code == 1
    assert json.loads(runner.invoke(args=["bandit", "stop", "sentiment", "--json"]).output)["state"] == "stopped"
    missing = runner.invoke(args=["bandit", "stop", "sentiment"])
    assert missing.exit_code == 1 and "no running bandit" in missing.stderr
    assert runner.invoke(args=["bandit", "start", "sentiment", "--versions", "1.0.0"]).exit_code == 2
