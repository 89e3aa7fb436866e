"""Churn over HTTP: changing the split moves only the users who must move, and only where they must."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.api import register

USERS = [f"churn-user-{n}" for n in range(2_000)]


@pytest.fixture
def client(app):
    """The app's client, its log records kept in memory.

    Routing is under test here, not the log pipeline: 20,000 records shipped to the shared broker
    would still be draining into the prediction log while later tests count its rows.
    """
    shipping = app.extensions["log_buffer"]
    app.extensions["log_buffer"] = []  # the predict view only appends
    yield app.test_client()
    app.extensions["log_buffer"] = shipping  # for shutdown() to close


def served(client) -> dict[str, str]:
    """Each user's version, asked twice: the second answer must repeat the first."""
    versions = {}
    for user in USERS:
        first = client.post("/predict", json={"text": "fine", "user_id": user}).get_json()["model_version"]
        versions[user] = first
    for user in USERS[::10]:
        again = client.post("/predict", json={"text": "fine", "user_id": user}).get_json()["model_version"]
        assert again == versions[user], f"{user} flickered from {versions[user]} to {again}"
    return versions


def set_split(client, weights: dict[str, int]) -> None:
    response = client.put("/models/sentiment/split", json={"weights": weights})
    assert response.status_code == 200, response.get_json()


def moves(before: dict[str, str], after: dict[str, str]) -> Counter:
    return Counter((before[user], after[user]) for user in USERS if before[user] != after[user])


def test_split_changes_move_10_then_20_percent_of_users_only_towards_growing_versions(client):
    for version in ("1.0.0", "2.0.0", "3.0.0"):
        register(client, version=version)
    set_split(client, {"1.0.0": 50, "2.0.0": 50})
    at_50_50 = served(client)
    assert abs(Counter(at_50_50.values())["1.0.0"] / len(USERS) - 0.5) <= 0.03

    set_split(client, {"1.0.0": 40, "2.0.0": 60})
    at_40_60 = served(client)
    moved = moves(at_50_50, at_40_60)
    assert set(moved) <= {("1.0.0", "2.0.0")}
    assert abs(sum(moved.values()) / len(USERS) - 0.10) <= 0.03

    set_split(client, {"1.0.0": 40, "2.0.0": 40, "3.0.0": 20})
    at_40_40_20 = served(client)
    moved = moves(at_40_60, at_40_40_20)
    assert set(moved) <= {("2.0.0", "3.0.0")}
    assert abs(sum(moved.values()) / len(USERS) - 0.20) <= 0.03
    # 1.0.0 kept its share, so it kept every one of its users.
    assert all(at_40_40_20[user] == "1.0.0" for user in USERS if at_40_60[user] == "1.0.0")


def test_shrinking_the_first_of_three_versions_leaves_the_middle_ones_users_alone(client):
    # Contiguous ranges in activation order would shift 2.0.0's whole range here and move 20%.
    for version in ("1.0.0", "2.0.0", "3.0.0"):
        register(client, version=version)
    set_split(client, {"1.0.0": 40, "2.0.0": 40, "3.0.0": 20})
    before = served(client)
    set_split(client, {"1.0.0": 30, "2.0.0": 40, "3.0.0": 30})
    after = served(client)
    moved = moves(before, after)
    assert set(moved) <= {("1.0.0", "3.0.0")}
    assert abs(sum(moved.values()) / len(USERS) - 0.10) <= 0.03


def test_a_split_under_100_moves_only_the_difference_when_the_total_changes(client):
    # 30/20 serves 60/40; 30/30 serves 50/50: 10% of users move, not most of them.
    for version in ("1.0.0", "2.0.0"):
        register(client, version=version)
    set_split(client, {"1.0.0": 30, "2.0.0": 20})
    before = served(client)
    set_split(client, {"1.0.0": 30, "2.0.0": 30})
    moved = moves(before, served(client))
    assert set(moved) <= {("1.0.0", "2.0.0")}
    assert abs(sum(moved.values()) / len(USERS) - 0.10) <= 0.03


def test_deploying_slots_moves_nobody_and_the_first_change_only_the_minimum(app, client):
    from sqlalchemy import text

    from webapp.extensions import db
    from webapp.routing.allocation import user_bucket

    v1, v2 = register(client)["model_id"], register(client, version="2.0.0")["model_id"]
    for model_id, percent in ((v1, 30), (v2, 20)):
        client.post(f"/models/{model_id}/activate", json={"percent": percent})
    with app.app_context():  # as if both were activated before the splits table existed
        db.session.execute(text("DELETE FROM splits"))
        db.session.execute(text("UPDATE routing_state SET version = version + 1"))
        db.session.commit()
        app.extensions["router"].publish_from_database()
    deployed = served(client)
    # Before slots: bucket * 50 // 100 below 30 went to 1.0.0, that is buckets 0..59.
    assert deployed == {user: "1.0.0" if user_bucket("sentiment", user) < 60 else "2.0.0" for user in USERS}
    set_split(client, {"1.0.0": 30, "2.0.0": 30})
    moved = moves(deployed, served(client))
    assert set(moved) <= {("1.0.0", "2.0.0")}
    assert abs(sum(moved.values()) / len(USERS) - 0.10) <= 0.03
