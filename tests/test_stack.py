"""The README's flows against the whole process group that `make run` starts (honcho + Procfile).

On the production stack (Postgres, RabbitMQ as broker, Redis as config cache): web (gunicorn,
2 workers), worker and beat as real processes.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from tests.http_client import call, reachable
from tests.support import ROOT, ManagedProcess, free_port, new_vhost, wait_for

pytestmark = pytest.mark.slow


class Stack(ManagedProcess):
    ready_marker = "Booting worker"


@pytest.fixture
def stack(app, postgres_url, redis_url, broker_url, tmp_path):
    # `app` empties the tables and the routing cache; the stack gets a queue of its own, apart from
    # the session's shared worker.
    port = free_port()
    env = {
        "INSTANCE_DIR": str(tmp_path),
        "BIND": f"127.0.0.1:{port}",
        "STATS_REFRESH_SECONDS": "1",
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": new_vhost(broker_url, "stack"),
    }
    group = Stack([sys.executable, "-m", "honcho", "start"], env, "honcho")
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=group.env, check=True
    )
    group.start(timeout=60)
    base_url = f"http://127.0.0.1:{port}"
    wait_for(lambda: reachable(base_url), timeout=30, what="the web server")
    yield base_url, group
    group.stop()


def test_readme_flows_work_on_the_whole_stack(stack):
    base_url, group = stack
    status, v1 = call(base_url, "POST", "/models", {"name": "sentiment", "version": "1.0.0"})
    assert status == 201, v1
    status, v2 = call(base_url, "POST", "/models", {"name": "sentiment", "version": "2.0.0"})
    assert status == 201, v2
    assert call(base_url, "POST", f"/models/{v1['model_id']}/activate", {"percent": 50})[0] == 200
    assert call(base_url, "POST", f"/models/{v2['model_id']}/activate", {"percent": 50})[0] == 200

    sticky = [call(base_url, "POST", "/predict", {"text": "I love this!", "user_id": "user_123"})[1] for _ in range(5)]
    assert {answer["model_version"] for answer in sticky} == {"2.0.0"}
    anonymous = [call(base_url, "POST", "/predict", {"text": "I love this!"})[1] for _ in range(30)]
    assert {answer["model_version"] for answer in anonymous} == {"1.0.0", "2.0.0"}

    def stats() -> dict[str, int]:
        return {e["model_version"]: e["request_count"] for e in call(base_url, "GET", "/models/stats")[1]}

    served = Counter(answer["model_version"] for answer in sticky + anonymous)
    wait_for(lambda: stats() == served, timeout=40, what=f"beat-refreshed stats to reach {dict(served)}")
    status, health = call(base_url, "GET", "/health")
    assert status == 200, (health, group.tail())


def test_the_70_30_flow_and_performance_on_the_whole_stack(stack):
    base_url, _ = stack
    status, v1 = call(base_url, "POST", "/models", {"name": "sentiment", "version": "1.0.0", "accuracy": 0.85})
    assert status == 201, v1
    status, v2 = call(base_url, "POST", "/models", {"name": "sentiment", "version": "2.0.0", "accuracy": 0.92})
    assert status == 201, v2
    call(base_url, "POST", f"/models/{v1['model_id']}/activate", {"traffic_percent": 70})
    call(base_url, "POST", f"/models/{v2['model_id']}/activate", {"traffic_percent": 30})
    versions = Counter(
        call(base_url, "POST", "/predict", {"text": "Great product!"})[1]["model_version"] for _ in range(100)
    )
    assert 55 <= versions["1.0.0"] <= 85  # 70 expected; ±15 is over 3 standard deviations

    def performance() -> dict:
        return call(base_url, "GET", "/models/performance")[1]

    wait_for(lambda: performance()["total_requests"] == 100, timeout=40, what="100 requests in /models/performance")
    body = performance()
    counts = {entry["model_version"]: entry["request_count"] for entry in body["models"]}
    assert counts == dict(versions)
    if min(counts.values()) >= 30:  # about half the time, 2.0.0 gets fewer than 30 of the 100
        assert body["recommendation"]["model_version"] in {"1.0.0", "2.0.0"}
    else:
        assert body["recommendation"] is None and "30" in body["recommendation_note"]
