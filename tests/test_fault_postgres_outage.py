"""Fault: Postgres stopped for 15 s under load, then started again."""

from __future__ import annotations

import time

import pytest

from tests.http_client import call
from tests.services import ThrowawayPostgres
from tests.support import CeleryWorker, GunicornServer, empty_redis_database, free_port, new_vhost
from tests.traffic import PredictTraffic, missing_after, start_two_versions

OUTAGE_SECONDS = 15
CACHE_DB = 11  # the throwaway database's routing versions start at 0: no other test's cache may answer


@pytest.mark.slow
def test_predictions_are_answered_through_a_postgres_outage_and_their_logs_land_after(redis_url, broker_url, tmp_path):
    database = ThrowawayPostgres()
    web = worker = None
    try:
        database.create(tmp_path / "migrate")
        env = {
            "DATABASE_URL": database.url,
            "REDIS_URL": empty_redis_database(redis_url, CACHE_DB),
            # A queue of its own: the session's shared worker must not take these batches.
            "CELERY_BROKER_URL": new_vhost(broker_url, "postgres_outage"),
            "INSTANCE_DIR": str(tmp_path / "instance"),
            "STATS_REFRESH_SECONDS": "3600",
        }
        web, worker = GunicornServer(env, free_port()), CeleryWorker(env)
        web.start()
        worker.start()
        start_two_versions(web.url)
        with PredictTraffic(web.url) as traffic:
            time.sleep(3)
            down_at = time.monotonic()
            database.stop()
            status, body = call(web.url, "POST", "/models", {"name": "sentiment", "version": "3.0.0"})
            assert (status, body["error"]["code"]) == (503, "database_unavailable")
            assert "database is unavailable" in body["error"]["message"]
            time.sleep(max(0.0, down_at + OUTAGE_SECONDS - time.monotonic()))
            database.start()
            up_at = time.monotonic()
            time.sleep(3)

        during = traffic.between(down_at, up_at)
        assert len(during) >= 100, "too little traffic during the outage to judge"
        assert sum(answer.status == 200 for answer in during) / len(during) >= 0.99
        expected = traffic.answered_ids()
        # The write task backs off up to 30 s between attempts.
        missing = missing_after(database.url, expected, timeout=90)
        assert not missing, f"{len(missing)} of {len(expected)} answered predictions never reached Postgres"
        status, body = call(web.url, "POST", "/models", {"name": "sentiment", "version": "3.0.0"})
        assert status == 201, body
    finally:
        for process in (web, worker):
            if process is not None:
                process.stop()
        database.remove()
