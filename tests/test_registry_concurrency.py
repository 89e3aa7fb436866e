"""Concurrent registry changes against the real Postgres: the 100% ceiling holds."""

from __future__ import annotations

import threading

from tests.api import register


def test_20_concurrent_activations_never_add_up_to_more_than_100(client):
    ids = [register(client, version=f"1.0.{n}")["model_id"] for n in range(20)]
    start = threading.Barrier(len(ids))
    statuses: dict[str, int] = {}

    def activate(model_id: str) -> None:
        start.wait()
        statuses[model_id] = client.post(f"/models/{model_id}/activate", json={"percent": 15}).status_code

    threads = [threading.Thread(target=activate, args=(model_id,)) for model_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(set(statuses.values())) == [200, 409]
    assert list(statuses.values()).count(200) == 6  # 6 x 15 = 90; a seventh would make 105
    active = client.get("/models?status=active").get_json()
    assert sum(model["traffic_percent"] for model in active) == 90
    assert {model["model_id"] for model in active} == {mid for mid, status in statuses.items() if status == 200}


def test_concurrent_registrations_of_one_version_create_it_once(client):
    start = threading.Barrier(10)
    statuses: list[int] = []

    def register_same() -> None:
        start.wait()
        statuses.append(client.post("/models", json={"name": "sentiment", "version": "3.1.4"}).status_code)

    threads = [threading.Thread(target=register_same) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 9
    assert len(client.get("/models").get_json()) == 1
