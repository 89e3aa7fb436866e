"""Manual gates (Argo Rollouts' `pause: {}`): a rollout waits before a gated step until promoted,
its guardrails still judging; on plain numbers, over HTTP on the real Postgres, and from the shell.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.api import activate, register
from tests.rollout_helpers import evaluate, seed, shares, start
from webapp.rollouts import machine as m
from webapp.statistics.frequentist import Moments, Proportion

NOW = datetime(2026, 1, 1, tzinfo=UTC)
GATED = [10, {"percent": 60, "gate": "manual"}, 100]
PLAN = m.Plan(steps=(10, 60, 100), step_seconds=0, min_requests_per_step=100, gated_steps=frozenset({1}))


def arm(correct: int = 800) -> m.ArmMetrics:
    return m.ArmMetrics(1000, Proportion(1000, correct), Moments(0, 0.0, 0.0))


def decide(state: m.State, candidate_correct: int = 800, step_requests: int = 100) -> m.Decision:
    return m.decide(PLAN, state, m.Snapshot(arm(candidate_correct), arm(), step_requests), NOW)


def test_the_step_before_a_gate_waits_once_its_minimums_are_met():
    assert decide(m.State(m.RUNNING, 0, NOW), step_requests=99).action == m.HOLD
    decision = decide(m.State(m.RUNNING, 0, NOW))
    assert (decision.action, decision.step_index) == (m.GATE, 0)
    assert "step 1 (60%) has a manual gate: waiting for approval" in decision.reason
    waiting = decide(m.State(m.RUNNING, 0, NOW, m.APPROVAL))
    assert (waiting.action, waiting.step_index) == (m.HOLD, 0)


def test_a_waiting_rollout_is_still_rolled_back_on_a_breach():
    decision = decide(m.State(m.RUNNING, 0, NOW, m.APPROVAL), candidate_correct=500)
    assert decision.action == m.ROLLBACK and decision.reason.startswith("accuracy")


def test_promote_enters_the_gated_step_with_a_fresh_clock_and_only_when_waiting():
    later = NOW + timedelta(minutes=5)
    promoted = m.promote(m.State(m.RUNNING, 0, NOW, m.APPROVAL), later)
    assert promoted == m.State(m.RUNNING, 1, later, None)
    for state in (m.State(m.RUNNING, 0, NOW), m.State(m.PAUSED, 0, NOW), m.State(m.COMPLETED, 2, NOW)):
        with pytest.raises(m.InvalidTransition, match="only a rollout waiting for approval can be promoted"):
            m.promote(state, later)


def test_pausing_a_waiting_rollout_ends_the_wait():
    assert m.pause(m.State(m.RUNNING, 0, NOW, m.APPROVAL)).waiting_for is None


@pytest.fixture
def versions(client) -> dict[str, str]:
    ids = {version: register(client, version=version)["model_id"] for version in ("1.0.0", "2.0.0")}
    activate(client, ids["1.0.0"], 100)
    return ids


def served(app, client, versions, requests: int = 100) -> None:
    """The candidate's routed requests under the routing-config version in place, as the refresh counts them."""
    current = client.get("/models/sentiment/split").get_json()["config_version"]
    seed(app, versions["2.0.0"], routed=requests, config_version=current)


def test_a_gated_rollout_waits_at_the_step_before_until_promoted_then_completes(app, client, versions):
    rollout = start(client, steps=GATED, step_seconds=0, min_requests_per_step=100)
    assert (rollout["steps"], rollout["gated_steps"], rollout["waiting_for"]) == ([10, 60, 100], [1], None)
    url = f"/rollouts/{rollout['id']}"
    served(app, client, versions)
    assert [o.action for o in evaluate(app)] == ["gate"]
    for _ in range(2):  # it stays there, however often it is judged
        body = client.get(url).get_json()
        assert (body["state"], body["step_index"], body["current_percent"]) == ("running", 0, 10), body
        assert body["waiting_for"] == "approval" and "waiting for approval" in body["reason"]
        assert shares(client) == {"1.0.0": 90, "2.0.0": 10}
        assert [o.action for o in evaluate(app)] == ["hold"]
    promoted = client.post(f"{url}/promote", json={})
    assert promoted.status_code == 200, promoted.get_json()
    body = promoted.get_json()
    assert (body["state"], body["step_index"], body["current_percent"], body["waiting_for"]) == ("running", 1, 60, None)
    assert shares(client) == {"1.0.0": 40, "2.0.0": 60}
    assert client.post(f"{url}/promote", json={}).status_code == 409  # no longer waiting
    served(app, client, versions)
    assert [o.action for o in evaluate(app)] == ["advance"]
    served(app, client, versions)
    assert [o.action for o in evaluate(app)] == ["complete"]
    body = client.get(url).get_json()
    assert [e["action"] for e in body["history"]] == ["start", "gate", "promote", "advance", "complete"]
    assert shares(client) == {"2.0.0": 100}


def test_a_breach_while_waiting_rolls_back(app, client, versions):
    rollout = start(client, steps=GATED, step_seconds=0, min_requests_per_step=100)
    served(app, client, versions)
    assert [o.action for o in evaluate(app)] == ["gate"]
    seed(app, versions["1.0.0"], labelled=3000, correct=2400)
    seed(app, versions["2.0.0"], labelled=1000, correct=500)
    assert [o.action for o in evaluate(app)] == ["rollback"]
    body = client.get(f"/rollouts/{rollout['id']}").get_json()
    assert (body["state"], body["waiting_for"], body["current_percent"]) == ("rolled_back", None, 0)
    assert client.post(f"/rollouts/{rollout['id']}/promote", json={}).status_code == 409


def test_promote_answers_409_when_not_waiting_and_404_for_no_rollout(client, versions):
    rollout = start(client, steps=GATED, step_seconds=3600)
    url = f"/rollouts/{rollout['id']}"
    refused = client.post(f"{url}/promote", json={})
    assert refused.status_code == 409
    assert "only a rollout waiting for approval can be promoted" in refused.get_json()["error"]["message"]
    client.post(f"{url}/pause", json={})
    assert client.post(f"{url}/promote", json={}).status_code == 409
    assert client.post("/rollouts/999/promote", json={}).status_code == 404
    assert client.get(url).get_json()["step_index"] == 0


@pytest.mark.parametrize(
    ("steps", "words"),
    [
        ([{"percent": 10, "gate": "manual"}, 100], "the first step cannot have a manual gate"),
        ([10, {"percent": 60, "gate": "auto"}, 100], "steps.1.gate must be 'manual'"),
        ([10, {"percent": 60}, 100], "steps.1.gate"),
        ([10, {"percent": "x", "gate": "manual"}, 100], "steps.1.percent must be a number"),
        ([10, {"percent": 5, "gate": "manual"}], "steps must strictly increase: [10, 5]"),
    ],
)
def test_bad_gates_are_refused_in_plain_words_and_change_nothing(client, versions, steps, words):
    response = client.post("/models/sentiment/rollouts", json={"candidate": "2.0.0", "steps": steps})
    assert response.status_code == 422, response.get_json()
    assert words in response.get_json()["error"]["message"] or words in json.dumps(response.get_json())
    assert "gated" not in response.get_json()["error"]["message"]  # a union's tag is no field
    assert shares(client) == {"1.0.0": 100}


def test_promote_from_the_shell(app, client, versions):
    runner = app.test_cli_runner()
    started = runner.invoke(args=["rollout", "start", "sentiment", "--candidate", "2.0.0", "--steps",
                                  "10,60:manual,100", "--step-seconds", "0", "--min-requests-per-step", "100",
                                  "--json"])  # fmt: skip
    assert started.exit_code == 0, started.output
    rollout = json.loads(started.output)
    assert rollout["gated_steps"] == [1]
    early = runner.invoke(args=["rollout", "promote", str(rollout["id"])])
    assert early.exit_code == 1 and "waiting for approval" in early.output
    served(app, client, versions)
    evaluate(app)
    status = runner.invoke(args=["rollout", "status", str(rollout["id"])])
    assert "step 1/3 (10% to 2.0.0), waiting for approval" in status.output
    promoted = runner.invoke(args=["rollout", "promote", str(rollout["id"]), "--json"])
    assert promoted.exit_code == 0, promoted.output
    assert (json.loads(promoted.output)["step_index"], shares(client)) == (1, {"1.0.0": 40, "2.0.0": 60})
