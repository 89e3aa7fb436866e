"""Canary rollouts over HTTP and the evaluation pass, on the real Postgres."""

from __future__ import annotations

import psycopg2
import pytest
from sqlalchemy import select

from tests.api import activate, register
from tests.rollout_helpers import evaluate, seed, shares, start
from webapp.audit.models import AuditLog
from webapp.extensions import db


@pytest.fixture
def versions(client) -> dict[str, str]:
    """sentiment 1.0.0 at 100% and 2.0.0 registered, inactive."""
    ids = {version: register(client, version=version)["model_id"] for version in ("1.0.0", "2.0.0")}
    activate(client, ids["1.0.0"], 100)
    return ids


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def test_starting_a_rollout_puts_the_first_step_in_place_and_audits_it(app, client, versions):
    body = start(client)
    assert (body["state"], body["step_index"], body["current_percent"]) == ("running", 0, 1)
    assert (body["candidate"], body["baseline"], body["steps"]) == ("2.0.0", "1.0.0", [1, 5, 25, 50, 100])
    assert shares(client) == {"1.0.0": 99, "2.0.0": 1}
    assert [event["action"] for event in body["history"]] == ["start"]
    assert audit_actions(app)[-2:] == ["rollout.start", "split"]
    assert client.get(f"/rollouts/{body['id']}").get_json()["id"] == body["id"]
    assert [r["id"] for r in client.get("/models/sentiment/rollouts").get_json()] == [body["id"]]


@pytest.mark.parametrize(
    ("plan", "status", "field"),
    [
        ({"candidate": "9.9.9"}, 422, "9.9.9"),
        ({"candidate": "1.0.0"}, 409, "no other version"),
        ({"baseline": "2.0.0"}, 422, "different versions"),
        ({"steps": [5, 5, 100]}, 422, "strictly increase"),
        ({"steps": [0, 50]}, 422, "more than 0%"),
        ({"steps": [50, 101]}, 422, "steps"),
        ({"steps": []}, 422, "steps"),
        ({"step_seconds": -1}, 422, "step_seconds"),
        ({"min_requests_per_step": -5}, 422, "min_requests_per_step"),
        ({"guardrails": {"max_accuracy_drop": -0.1}}, 422, "guardrails"),
        ({"guardrails": {"surprise": 1}}, 422, "guardrails"),
    ],
)
def test_bad_plans_answer_a_clear_error_and_change_nothing(app, client, versions, plan, status, field):
    before = client.get("/models/sentiment/split").get_json()
    response = client.post("/models/sentiment/rollouts", json={"candidate": "2.0.0", **plan})
    assert response.status_code == status, response.get_json()
    assert field in str(response.get_json())
    assert client.get("/models/sentiment/split").get_json() == before
    assert client.get("/models/sentiment/rollouts").get_json() == []


def test_an_unknown_model_or_rollout_is_404(client, versions):
    assert client.post("/models/nope/rollouts", json={"candidate": "2.0.0"}).status_code == 404
    assert client.get("/models/nope/rollouts").status_code == 404
    assert client.get("/rollouts/12345").status_code == 404
    assert client.post("/rollouts/12345/pause", json={}).status_code == 404
    assert client.get(f"/rollouts/{2**64}").status_code == 404


def test_a_second_active_rollout_of_a_name_is_refused(client, versions):
    first = start(client)
    response = client.post("/models/sentiment/rollouts", json={"candidate": "2.0.0"})
    assert response.status_code == 409
    assert response.get_json()["error"]["details"]["rollout_id"] == first["id"]


def test_abort_returns_all_traffic_to_the_baseline(app, client, versions):
    rollout = start(client, steps=[50, 100])
    assert shares(client) == {"1.0.0": 50, "2.0.0": 50}
    body = client.post(f"/rollouts/{rollout['id']}/abort", json={}).get_json()
    assert (body["state"], body["current_percent"]) == ("aborted", 0)
    assert shares(client) == {"1.0.0": 100}
    assert client.post(f"/rollouts/{rollout['id']}/resume", json={}).status_code == 409
    assert "rollout.abort" in audit_actions(app)
    start(client)  # an ended rollout no longer blocks a new one


def test_pause_holds_the_step_and_resume_restarts_its_clock(app, client, versions):
    rollout = start(client, step_seconds=0, min_requests_per_step=0)
    paused = client.post(f"/rollouts/{rollout['id']}/pause", json={}).get_json()
    assert paused["state"] == "paused"
    assert client.post(f"/rollouts/{rollout['id']}/pause", json={}).status_code == 409
    assert evaluate(app) == []  # a paused rollout is not judged
    resumed = client.post(f"/rollouts/{rollout['id']}/resume", json={}).get_json()
    assert resumed["state"] == "running" and resumed["step_started_at"] > paused["step_started_at"]
    assert [e["action"] for e in resumed["history"]] == ["start", "pause", "resume"]


def test_evaluation_advances_once_the_step_has_its_requests(app, client, versions):
    rollout = start(client, step_seconds=0, min_requests_per_step=200)
    current = client.get("/models/sentiment/split").get_json()["config_version"]
    seed(app, versions["2.0.0"], routed=150, config_version=current)
    assert [o.action for o in evaluate(app)] == ["hold"]
    assert "150 of 200 requests" in client.get(f"/rollouts/{rollout['id']}").get_json()["reason"]
    seed(app, versions["2.0.0"], routed=60, config_version=current)
    assert [o.action for o in evaluate(app)] == ["advance"]
    body = client.get(f"/rollouts/{rollout['id']}").get_json()
    assert (body["step_index"], body["current_percent"], body["step_requests"]) == (1, 5, 0)
    assert shares(client) == {"1.0.0": 95, "2.0.0": 5}
    assert "rollout.advance" in audit_actions(app)


def test_significantly_worse_accuracy_rolls_back_with_its_numbers(app, client, versions):
    rollout = start(client, steps=[10, 50, 100], step_seconds=3600)
    seed(app, versions["1.0.0"], labelled=3000, correct=2400)
    seed(app, versions["2.0.0"], labelled=1000, correct=500)
    assert [o.action for o in evaluate(app)] == ["rollback"]
    body = client.get(f"/rollouts/{rollout['id']}").get_json()
    assert (body["state"], body["step_index"], body["current_percent"]) == ("rolled_back", 0, 0)
    assert "accuracy 0.5000 vs baseline 0.8000" in body["reason"]
    accuracy = next(check for check in body["guardrails"] if check["name"] == "accuracy_drop")
    assert accuracy == {**accuracy, "value": 0.3, "limit": 0.02, "breached": True}
    assert body["history"][-1]["numbers"] == body["guardrails"]
    assert shares(client) == {"1.0.0": 100}
    assert "rollout.rollback" in audit_actions(app)


def test_a_slow_candidate_rolls_back_on_p95_latency(client, app, versions):
    rollout = start(client, steps=[10, 100], guardrails={"min_latency_increase_ms": 1})
    seed(app, versions["1.0.0"], requests=1000, p95=2.0)
    seed(app, versions["2.0.0"], requests=500, p95=4.0)
    assert [o.action for o in evaluate(app)] == ["rollback"]
    body = client.get(f"/rollouts/{rollout['id']}").get_json()
    assert body["reason"].startswith("p95 latency is at least 2.0"), body["reason"]
    check = next(check for check in body["guardrails"] if check["name"] == "p95_latency_ratio")
    assert check["value"] == pytest.approx(2.0, abs=0.05) and check["breached"]


def test_the_last_step_completes_the_rollout_and_retires_the_baseline(app, client, versions):
    rollout = start(client, steps=[50, 100], step_seconds=0, min_requests_per_step=0)
    assert [o.action for o in evaluate(app)] == ["advance"]
    assert shares(client) == {"2.0.0": 100}
    assert [o.action for o in evaluate(app)] == ["complete"]
    body = client.get(f"/rollouts/{rollout['id']}").get_json()
    assert (body["state"], body["current_percent"]) == ("completed", 100)
    assert [e["action"] for e in body["history"]] == ["start", "advance", "complete"]
    assert shares(client) == {"2.0.0": 100}
    assert evaluate(app) == []


def test_other_versions_keep_their_traffic_and_steps_share_the_pool(client, versions):
    activate(client, versions["1.0.0"], 60)
    third = register(client, version="3.0.0")["model_id"]
    activate(client, third, 40)
    start(client, steps=[50, 100])
    assert shares(client) == {"1.0.0": 30, "3.0.0": 40, "2.0.0": 30}


def test_a_manual_split_change_pauses_the_rollout_and_says_why(app, client, versions):
    rollout = start(client, step_seconds=0, min_requests_per_step=0)
    client.put("/models/sentiment/split", json={"weights": {"1.0.0": 80, "2.0.0": 20}})
    assert [o.action for o in evaluate(app)] == ["pause"]
    body = client.get(f"/rollouts/{rollout['id']}").get_json()
    assert body["state"] == "paused"
    assert "split changed outside the rollout: candidate 20.00% and baseline 80.00%" in body["reason"]
    assert shares(client) == {"1.0.0": 80, "2.0.0": 20}  # the operator's change stands
    client.post(f"/rollouts/{rollout['id']}/resume", json={})
    assert shares(client) == {"1.0.0": 99, "2.0.0": 1}


def test_a_rollout_locked_by_another_evaluation_is_skipped_and_left_alone(app, client, versions, postgres_url):
    rollout = start(client, step_seconds=0, min_requests_per_step=0)
    other = psycopg2.connect(postgres_url)
    try:
        other.cursor().execute("SELECT id FROM rollouts WHERE id = %s FOR UPDATE", (rollout["id"],))
        assert evaluate(app) == []
    finally:
        other.close()
    assert client.get(f"/rollouts/{rollout['id']}").get_json()["step_index"] == 0
    assert [o.action for o in evaluate(app)] == ["advance"]
