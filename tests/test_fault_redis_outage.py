"""Fault: Redis, the routing-config cache, shut down for 15 s under load.

Predictions keep coming from each process's last-known table; logs travel through RabbitMQ and are
all kept; a registry change made during the outage reaches every process within a second of Redis
coming back.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.http_client import call
from tests.services import ThrowawayRedis
from tests.support import CeleryWorker, GunicornServer, free_port, new_vhost, wait_for
from tests.traffic import PredictTraffic, missing_after, start_two_versions

OUTAGE_SECONDS = 15
PROBES = 40


def serves_everywhere(base_url: str, version: str) -> bool:
    """True when every probe, spread over the web workers by the shared socket, can serve `version`."""
    body = {"text": "fine", "model_version": version}
    return all(call(base_url, "POST", "/predict", body)[0] == 200 for _ in range(PROBES))


@pytest.mark.slow
def test_a_redis_outage_keeps_predictions_and_logs_and_a_change_made_meanwhile_lands_after(
    app, postgres_url, broker_url, tmp_path: Path
):
    cache = ThrowawayRedis(tmp_path / "redis")
    cache.start()
    env = {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": cache.url,
        "CELERY_BROKER_URL": new_vhost(broker_url, "redis_outage"),
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "STATS_REFRESH_SECONDS": "3600",
    }
    web, worker = GunicornServer(env, free_port()), CeleryWorker(env)
    web.start()
    worker.start()
    try:
        start_two_versions(web.url)
        status, third = call(web.url, "POST", "/models", {"name": "sentiment", "version": "3.0.0"})
        assert status == 201, third
        with PredictTraffic(web.url) as traffic:
            time.sleep(2)
            down_at = time.monotonic()
            cache.shutdown()
            status, body = call(web.url, "POST", f"/models/{third['model_id']}/activate", {"percent": 0})
            assert status == 200, body  # the registry lives in Postgres: the change is committed
            time.sleep(2)
            # The process that made the change knows it; the others cannot learn it from the cache.
            assert not serves_everywhere(web.url, "3.0.0"), "the change spread without the cache"
            time.sleep(max(0.0, down_at + OUTAGE_SECONDS - time.monotonic()))
            cache.start()
            up_at = time.monotonic()
            wait_for(lambda: serves_everywhere(web.url, "3.0.0"), timeout=10, interval=0.05, what="the change")
            spread_after = time.monotonic() - up_at
            time.sleep(2)

        during = traffic.between(down_at, up_at)
        assert len(during) >= 100, "too little traffic during the outage to judge"
        assert sum(answer.status == 200 for answer in during) / len(during) >= 0.99
        slowest = sorted(answer.answered_at - answer.sent_at for answer in during if answer.status == 200)
        assert slowest[int(len(slowest) * 0.99)] < 0.5, "requests waited on the dead cache"
        # The target is 1 s (one 0.5 s poll and a database read); this measure also holds the probes'
        # own time, 0.3 to 0.75 s when the test runs alone.
        assert spread_after < 1.5, f"the change reached every web worker {spread_after:.2f} s after Redis came back"
        expected = traffic.answered_ids()
        missing = missing_after(postgres_url, expected, timeout=30)
        assert not missing, f"{len(missing)} of {len(expected)} answered predictions never reached Postgres"
    finally:
        web.stop()
        worker.stop()
        cache.stop()
