"""The registry API: what ops can do to versions and their traffic."""

from __future__ import annotations

import uuid

from tests.api import activate, register, two_versions


def test_registering_answers_201_with_an_inactive_version(client):
    body = register(client, version="1.0.0", description="baseline", accuracy=0.85)
    assert uuid.UUID(body["model_id"])
    assert body["name"] == "sentiment" and body["version"] == "1.0.0"
    assert (body["status"], body["traffic_percent"], body["activated_at"]) == ("inactive", 0, None)
    assert body["accuracy"] == 0.85 and body["description"] == "baseline"
    assert body["created_at"]


def test_major_version_chooses_the_default_algorithm(client):
    assert register(client, version="1.4.2")["algorithm"] == "textblob-basic"
    assert register(client, version="2.0.0")["algorithm"] == "textblob-advanced"
    assert register(client, version="3.0.0-rc.1")["algorithm"] == "textblob-advanced"
    assert register(client, version="4.0.0", algorithm="textblob-basic")["algorithm"] == "textblob-basic"


def test_params_are_validated_and_completed_with_defaults(client):
    assert register(client, version="1.0.0", params={"neutral_band": 0.1})["params"] == {"neutral_band": 0.1}
    assert register(client, version="1.0.1")["params"] == {"neutral_band": 0.05}
    response = client.post("/models", json={"name": "sentiment", "version": "1.0.2", "params": {"band": 1}})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "params.band"


def test_registering_the_same_name_and_version_twice_conflicts(client):
    first = register(client)
    response = client.post("/models", json={"name": "sentiment", "version": "1.0.0"})
    assert response.status_code == 409
    assert response.get_json()["error"]["details"]["model_id"] == first["model_id"]


def test_listing_filters_by_name_and_status(client):
    two_versions(client, 60, 40)
    register(client, name="spam", version="1.0.0")
    assert len(client.get("/models").get_json()) == 3
    assert {m["name"] for m in client.get("/models?name=spam").get_json()} == {"spam"}
    active = client.get("/models?status=active").get_json()
    assert sorted(m["traffic_percent"] for m in active) == [40, 60]
    assert client.get("/models?status=bogus").status_code == 422


def test_listing_is_a_plain_list_that_pages_with_a_total_count(client):
    for n in range(5):
        register(client, version=f"1.0.{n}")
    response = client.get("/models")
    assert isinstance(response.get_json(), list) and response.headers["X-Total-Count"] == "5"
    pages = [client.get(f"/models?limit=2&offset={offset}") for offset in (0, 2, 4, 6)]
    assert [[m["version"] for m in page.get_json()] for page in pages] == [
        ["1.0.0", "1.0.1"],
        ["1.0.2", "1.0.3"],
        ["1.0.4"],
        [],
    ]
    assert {page.headers["X-Total-Count"] for page in pages} == {"5"}
    assert client.get("/models?limit=1&name=spam").headers["X-Total-Count"] == "0"
    for query in ("limit=0", "limit=1001", "offset=-1", "limit=two"):
        assert client.get(f"/models?{query}").status_code == 422


def test_get_one_version_by_id(client):
    created = register(client)
    # One version also shows its online accuracy from feedback, beside the offline metrics.
    assert client.get(f"/models/{created['model_id']}").get_json() == {
        **created,
        "online": {"accuracy": None, "labelled": 0},
    }
    assert client.get(f"/models/{uuid.uuid4()}").status_code == 404
    assert client.get("/models/not-a-uuid").status_code == 404


def test_activation_accepts_percent_or_traffic_percent(client):
    v1, v2 = register(client)["model_id"], register(client, version="2.0.0")["model_id"]
    assert client.post(f"/models/{v1}/activate", json={"traffic_percent": 70}).get_json()["traffic_percent"] == 70
    body = client.post(f"/models/{v2}/activate", json={"percent": 30}).get_json()
    assert (body["status"], body["traffic_percent"]) == ("active", 30)
    assert body["activated_at"]


def test_activation_past_100_percent_conflicts_and_shows_the_allocation(client):
    two_versions(client, 70, 30)
    v3 = register(client, version="3.0.0")["model_id"]
    response = client.post(f"/models/{v3}/activate", json={"percent": 1})
    assert response.status_code == 409
    details = response.get_json()["error"]["details"]
    assert details["available_percent"] == 0
    assert sorted(a["traffic_percent"] for a in details["current_allocation"]) == [30, 70]
    assert client.get(f"/models/{v3}").get_json()["status"] == "inactive"


def test_reweighting_an_active_version_counts_its_own_share_once(client):
    v1, _ = two_versions(client, 70, 30)
    assert activate(client, v1, 60)["traffic_percent"] == 60
    assert client.post(f"/models/{v1}/activate", json={"percent": 71}).status_code == 409


def test_percents_of_different_models_are_independent(client):
    activate(client, register(client)["model_id"], 100)
    assert activate(client, register(client, name="spam")["model_id"], 100)["traffic_percent"] == 100


def test_reweighting_keeps_the_activation_time_and_so_the_bucket_order(client):
    v1, _ = two_versions(client, 50, 50)
    before = client.get(f"/models/{v1}").get_json()["activated_at"]
    assert activate(client, v1, 40)["activated_at"] == before


def test_deactivation_takes_a_version_out_of_traffic(client):
    v1, _ = two_versions(client, 50, 50)
    body = client.post(f"/models/{v1}/deactivate", json={}).get_json()
    assert (body["status"], body["traffic_percent"]) == ("inactive", 0)


def test_only_inactive_versions_can_be_deleted(client):
    v1, _ = two_versions(client, 50, 50)
    assert client.delete(f"/models/{v1}", json={}).status_code == 409
    client.post(f"/models/{v1}/deactivate", json={})
    response = client.delete(f"/models/{v1}", json={})
    assert response.status_code == 200 and response.get_json()["status"] == "archived"


def test_deleted_versions_leave_the_listings_but_stay_readable(client):
    v1 = register(client)["model_id"]
    client.delete(f"/models/{v1}", json={})
    assert client.get("/models").get_json() == []
    assert [m["model_id"] for m in client.get("/models?status=archived").get_json()] == [v1]
    assert client.get(f"/models/{v1}").get_json()["status"] == "archived"


def test_archived_versions_cannot_be_activated_or_registered_again(client):
    v1 = register(client)["model_id"]
    client.delete(f"/models/{v1}", json={})
    assert client.post(f"/models/{v1}/activate", json={"percent": 10}).status_code == 409
    assert client.post("/models", json={"name": "sentiment", "version": "1.0.0"}).status_code == 409
