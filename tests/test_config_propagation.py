"""Registry changes reach routing in every web process within a second, through Redis."""

from __future__ import annotations

import time

import pytest

from tests.api import activate, register
from tests.apps import make_settings, shutdown
from tests.http_client import call
from tests.support import GunicornServer, free_port, wait_for
from webapp import create_app


@pytest.fixture
def other_process(app, tmp_path):
    """A second app instance with the production poll interval: another web process's view."""
    settings = app.extensions["settings"]
    other = create_app(
        make_settings(
            tmp_path / "other",
            DATABASE_URL=settings.database_url,
            REDIS_URL=settings.redis_url,
            CONFIG_POLL_SECONDS=0.5,
        )
    )
    yield other
    shutdown(other)


def test_a_change_made_in_one_process_reaches_another_within_a_second(client, other_process):
    router = other_process.extensions["router"]
    v1 = register(client)["model_id"]
    activate(client, v1, 100)
    wait_for(lambda: router.table().allocations.get("sentiment"), timeout=2, what="the first config")
    v2 = register(client, version="2.0.0")["model_id"]
    client.post(f"/models/{v1}/deactivate", json={})
    activate(client, v2, 100)
    changed_at = time.monotonic()
    wait_for(
        lambda: [arm.version for arm in router.table().allocations["sentiment"].arms] == ["2.0.0"],
        timeout=1.0,
        interval=0.01,
        what="the other process to route to 2.0.0",
    )
    assert time.monotonic() - changed_at <= 1.0


def test_a_user_keeps_their_version_when_the_config_refreshes(client, other_process):
    router = other_process.extensions["router"]
    v1, v2 = register(client)["model_id"], register(client, version="2.0.0")["model_id"]
    activate(client, v1, 50)
    activate(client, v2, 50)
    wait_for(lambda: router.table().version >= 4, timeout=2, what="the 50/50 config")
    before = {f"user-{n}": router.table().route(0.5, user_id=f"user-{n}").arm.version for n in range(200)}
    register(client, version="3.0.0")  # a new version, not yet active: a refresh, same allocation
    version_before = router.table().version
    wait_for(lambda: router.table().version > version_before, timeout=2, what="the refreshed config")
    after = {user: router.table().route(0.5, user_id=user).arm.version for user in before}
    assert after == before


def test_another_process_routes_every_user_by_the_stored_split(app, client, other_process):
    router, here = other_process.extensions["router"], app.extensions["router"]
    for version in ("1.0.0", "2.0.0", "3.0.0"):
        register(client, version=version)
    client.put("/models/sentiment/split", json={"weights": {"1.0.0": 40, "2.0.0": 40, "3.0.0": 20}})
    body = client.put("/models/sentiment/split", json={"weights": {"1.0.0": 30, "2.0.0": 40, "3.0.0": 30}}).get_json()
    wait_for(lambda: router.table().version >= body["config_version"], timeout=2, what="the second split")
    # 3.0.0 owns two runs now; a process that recomputed the split from the weights alone would
    # give it one run and route some users elsewhere.
    assert len(router.table().allocations["sentiment"].runs) == 4
    users = [f"user-{n}" for n in range(2_000)]
    theirs = [router.table().route(0.5, user_id=user).arm.version for user in users]
    assert theirs == [here.table().route(0.5, user_id=user).arm.version for user in users]


def test_a_process_starting_with_an_empty_cache_loads_from_the_database_and_publishes(app, client, other_process):
    activate(client, register(client)["model_id"], 100)
    cache = app.extensions["redis"]
    cache.flushdb()  # as if Redis restarted without persistence
    assert other_process.extensions["router"].table().allocations["sentiment"].total == 100
    assert cache.get("router:config:version") is not None


@pytest.mark.slow
def test_both_gunicorn_workers_route_by_a_change_within_a_second(app, client):
    settings = app.extensions["settings"]
    port = free_port()
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "INSTANCE_DIR": str(settings.instance_dir),
    }
    server = GunicornServer(env, port, workers=2)
    server.start()
    try:
        v1 = register(client)["model_id"]
        activate(client, v1, 100)
        v2 = register(client, version="2.0.0")["model_id"]
        pids = set()
        wait_for(
            lambda: pids.add(call(server.url, "GET", "/health")[1]["components"]["routing"]["pid"]) or len(pids) == 2,
            timeout=20,
            what="requests served by both workers",
        )
        # The change goes through the server itself, so one worker learns at once and the other via Redis.
        call(server.url, "POST", f"/models/{v1}/deactivate")
        status, body = call(server.url, "POST", f"/models/{v2}/activate", {"percent": 100})
        assert status == 200, (body, server.tail(80))
        time.sleep(1.0)
        seen: dict[int, set[str]] = {}
        deadline = time.monotonic() + 10
        while len(seen) < 2 and time.monotonic() < deadline:
            for _ in range(10):
                _, answer = call(server.url, "POST", "/predict", {"text": "fine", "user_id": "user_123"})
                _, health = call(server.url, "GET", "/health")
                seen.setdefault(health["components"]["routing"]["pid"], set()).add(answer["model_version"])
        assert len(seen) == 2, "both workers should have answered"
        assert all(versions == {"2.0.0"} for versions in seen.values()), seen
    finally:
        server.stop()
