"""Bandit mode over HTTP and the update pass, on the real Postgres: slots move with minimal churn."""

from __future__ import annotations

import time

import pytest

from tests.api import register
from tests.rollout_helpers import evaluate, seed, shares
from webapp.extensions import db
from webapp.models import Split
from webapp.routing.slots import moved_slots, owner_counts


@pytest.fixture
def arms(client) -> dict[str, str]:
    return {version: register(client, version=version)["model_id"] for version in ("1.0.0", "2.0.0", "3.0.0")}


def runs(app) -> tuple:
    with app.app_context():
        split = db.session.get(Split, "sentiment")
        result = tuple(tuple(run) for run in split.runs)
        db.session.remove()
        return result


def start(client, **fields):
    body = {"versions": ["1.0.0", "2.0.0", "3.0.0"], "update_seconds": 0.01, "min_per_arm": 100, **fields}
    return client.post("/models/sentiment/bandit", json=body)


def test_a_bandit_starts_at_equal_weights_and_holds_until_every_arm_has_its_minimum(app, client, arms):
    response = start(client)
    assert response.status_code == 201, response.get_json()
    assert shares(client) == {"1.0.0": 33.34, "2.0.0": 33.33, "3.0.0": 33.33}
    seed(app, arms["1.0.0"], labelled=500, correct=250)
    seed(app, arms["3.0.0"], labelled=500, correct=300)
    seed(app, arms["2.0.0"], labelled=99, correct=50)
    time.sleep(0.05)
    assert [o.action for o in evaluate(app)] == ["hold"]
    body = client.get("/models/sentiment/bandit").get_json()
    assert "2.0.0 short" in body["reason"] and body["updates"] == 0
    assert shares(client) == {"1.0.0": 33.34, "2.0.0": 33.33, "3.0.0": 33.33}


def test_one_update_moves_weights_to_p_best_through_the_slots_with_minimal_churn(app, client, arms):
    start(client, floor_percent=2)
    before = runs(app)
    for version, correct in (("1.0.0", 250), ("2.0.0", 270), ("3.0.0", 330)):
        seed(app, arms[version], labelled=500, correct=correct)
    time.sleep(0.05)
    assert [o.action for o in evaluate(app)] == ["update"]
    body = client.get("/models/sentiment/bandit").get_json()
    assert body["updates"] == 1 and sum(body["weights"].values()) == pytest.approx(100)
    assert body["weights"]["3.0.0"] > 90 and min(body["weights"].values()) >= 2
    assert shares(client) == body["weights"]
    after = runs(app)
    counts_before, counts_after = owner_counts(before), owner_counts(after)
    shrinking = sum(max(counts_before[owner] - counts_after.get(owner, 0), 0) for owner in counts_before)
    assert moved_slots(before, after) == shrinking  # only the slots the new weights require moved
    assert [o.action for o in evaluate(app)] in ([], ["update"])  # same seed scheme, nothing applied twice


def test_stopping_leaves_the_last_weights_and_a_rollout_waits_for_it(client, arms):
    start(client)
    refused = client.post("/models/sentiment/rollouts", json={"candidate": "2.0.0", "baseline": "1.0.0"})
    assert refused.status_code == 409 and "bandit" in refused.get_json()["error"]["message"]
    stopped = client.delete("/models/sentiment/bandit", json={}).get_json()
    assert stopped["state"] == "stopped"
    assert shares(client) == {"1.0.0": 33.34, "2.0.0": 33.33, "3.0.0": 33.33}
    assert client.delete("/models/sentiment/bandit", json={}).status_code == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"versions": ["1.0.0", "9.9.9"]}, 422),
        ({"versions": ["1.0.0", "1.0.0"]}, 422),
        ({"versions": ["1.0.0"]}, 422),
        ({"versions": ["1.0.0", "2.0.0", "3.0.0"], "floor_percent": 40}, 422),
        ({"versions": ["1.0.0", "2.0.0"], "metric": "clicks"}, 422),
        ({"versions": ["1.0.0", "2.0.0"], "update_seconds": 0}, 422),
    ],
)
def test_bad_bandits_answer_a_clear_error_and_change_nothing(client, arms, body, status):
    response = client.post("/models/sentiment/bandit", json=body)
    assert response.status_code == status, response.get_json()
    assert shares(client) == {}
    assert client.get("/models/sentiment/bandit").status_code == 404


def test_a_second_bandit_is_refused(client, arms):
    assert start(client).status_code == 201
    assert start(client).status_code == 409


def test_the_experiment_view_says_a_bandit_is_running_and_how_far_to_trust_it(client, arms):
    assert client.get("/experiments/sentiment").get_json()["allocation"] is None
    bandit = start(client).get_json()
    allocation = client.get("/experiments/sentiment").get_json()["allocation"]
    assert (allocation["mode"], allocation["id"], allocation["state"]) == ("bandit", bandit["id"], "running")
    assert "`stratified` holds the corrected comparison" in allocation["note"]
    client.delete("/models/sentiment/bandit", json={})
    assert client.get("/experiments/sentiment").get_json()["allocation"] is None
