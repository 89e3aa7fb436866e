"""PUT and GET /models/<name>/split: a whole split in one call, slots, ETags and bad input."""

from __future__ import annotations

import pytest

from tests.api import activate, predict, register


def put_split(client, weights, name="sentiment", **headers):
    return client.put(f"/models/{name}/split", json={"weights": weights}, headers=headers)


def split_of(client, name="sentiment") -> dict:
    response = client.get(f"/models/{name}/split")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def shares(split: dict) -> dict[str, tuple]:
    return {v["version"]: (v["traffic_percent"], v["slots"]) for v in split["versions"]}


@pytest.fixture
def three(client) -> dict[str, str]:
    return {version: register(client, version=version)["model_id"] for version in ("1.0.0", "2.0.0", "3.0.0")}


def test_a_split_is_set_in_one_call_and_answers_each_versions_slots(client, three):
    response = put_split(client, {"1.0.0": 90, "2.0.0": 10})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert shares(body) == {"1.0.0": (90, 9_000), "2.0.0": (10, 1_000)}
    assert body["total_percent"] == 100
    assert response.headers["ETag"] == f'"{body["config_version"]}"'
    assert split_of(client) == body


def test_versions_activated_together_are_ordered_as_named(client, three):
    body = put_split(client, {"3.0.0": 20, "1.0.0": 50, "2.0.0": 30}).get_json()
    assert [v["version"] for v in body["versions"]] == ["3.0.0", "1.0.0", "2.0.0"]


def test_versions_left_out_become_inactive_and_a_zero_weight_stays_callable(client, three):
    put_split(client, {"1.0.0": 50, "2.0.0": 50})
    body = put_split(client, {"1.0.0": 100, "3.0.0": 0}).get_json()
    assert shares(body) == {"1.0.0": (100, 10_000), "3.0.0": (0, 0)}
    assert client.get(f"/models/{three['2.0.0']}").get_json()["status"] == "inactive"
    assert predict(client, model_version="3.0.0")["model_version"] == "3.0.0"
    assert {predict(client, user_id=f"u{n}")["model_version"] for n in range(30)} == {"1.0.0"}


def test_weights_take_two_decimals_and_serve_half_a_percent(client, three):
    body = put_split(client, {"1.0.0": 99.5, "2.0.0": 0.5}).get_json()
    assert shares(body) == {"1.0.0": (99.5, 9_950), "2.0.0": (0.5, 50)}


def test_a_split_under_100_serves_in_proportion(client, three):
    assert shares(put_split(client, {"1.0.0": 30, "2.0.0": 20}).get_json()) == {
        "1.0.0": (30, 6_000),
        "2.0.0": (20, 4_000),
    }


def test_activate_goes_through_the_same_slots_as_a_split(client, three):
    put_split(client, {"1.0.0": 30, "2.0.0": 20})
    activate(client, three["2.0.0"], 30)
    assert shares(split_of(client)) == {"1.0.0": (30, 5_000), "2.0.0": (30, 5_000)}
    client.post(f"/models/{three['1.0.0']}/deactivate", json={})
    assert shares(split_of(client)) == {"2.0.0": (30, 10_000)}


def test_if_match_with_the_current_etag_succeeds_and_a_stale_one_is_412(client, three):
    etag = client.get("/models/sentiment/split").headers["ETag"]
    assert put_split(client, {"1.0.0": 60, "2.0.0": 40}, **{"If-Match": etag}).status_code == 200
    response = put_split(client, {"1.0.0": 10, "2.0.0": 90}, **{"If-Match": etag})
    assert response.status_code == 412
    assert response.get_json()["error"]["code"] == "precondition_failed"
    assert shares(split_of(client)) == {"1.0.0": (60, 6_000), "2.0.0": (40, 4_000)}
    assert put_split(client, {"1.0.0": 10, "2.0.0": 90}, **{"If-Match": "*"}).status_code == 200


@pytest.mark.parametrize(
    ("weights", "status"),
    [
        ({"1.0.0": 60, "2.0.0": 41}, 422),  # over 100
        ({"1.0.0": -1}, 422),
        ({"1.0.0": "50"}, 422),
        ({"1.0.0": True}, 422),
        ({"1.0.0": 10.005}, 422),
        ({"1.0.0": 101}, 422),
        ({}, 422),
        ({"not-semver": 10}, 422),
        ({"9.9.9": 10}, 422),  # unknown version
        ({"4.0.0": 10}, 409),  # archived
    ],
)
def test_bad_splits_answer_a_clear_error_and_change_nothing(client, three, weights, status):
    client.delete(f"/models/{register(client, version='4.0.0')['model_id']}", json={})
    before = put_split(client, {"1.0.0": 70, "2.0.0": 30}).get_json()
    response = put_split(client, weights)
    assert response.status_code == status, response.get_json()
    assert set(response.get_json()["error"]) == {"code", "message", "details"}
    assert split_of(client) == before


def test_an_empty_or_malformed_body_is_refused_and_changes_nothing(client, three):
    before = put_split(client, {"1.0.0": 70, "2.0.0": 30}).get_json()
    for data, status in ((b"", 422), (b"{", 400)):  # an empty body reads as {}: no weights
        response = client.put("/models/sentiment/split", data=data, content_type="application/json")
        assert response.status_code == status
    assert client.put("/models/sentiment/split", json={"weights": {"1.0.0": 1}, "extra": 1}).status_code == 422
    assert split_of(client) == before


def test_unknown_or_archived_only_names_are_404(client):
    assert client.get("/models/nothing/split").status_code == 404
    assert put_split(client, {"1.0.0": 10}, name="nothing").status_code == 404
    model_id = register(client, name="gone")["model_id"]
    client.delete(f"/models/{model_id}", json={})
    assert client.get("/models/gone/split").status_code == 404


def test_names_that_look_like_routes_or_ids_have_their_own_split(client):
    uuid_like = "0b6e4c1e-9f1b-4c59-8a8f-1f2d3c4b5a69"
    for name in ("stats", "performance", uuid_like):
        register(client, name=name)
        assert shares(put_split(client, {"1.0.0": 100}, name=name).get_json()) == {"1.0.0": (100, 10_000)}
    assert client.get("/models/stats").status_code == 200  # still the statistics endpoint
    assert client.get(f"/models/{uuid_like}").status_code == 404  # an id lookup, and no version has that id


def test_a_model_whose_active_versions_are_all_at_0_percent_answers_409_and_serves_them_explicitly(client):
    register(client)
    put_split(client, {"1.0.0": 0})
    response = client.post("/predict", json={"text": "fine"})
    assert response.status_code == 409
    assert response.get_json()["error"]["details"] == {"active_versions": ["1.0.0"]}
    assert client.post("/predict", json={"text": "fine", "model_version": "1.0.0"}).status_code == 200
