"""Fault: the Celery worker SIGKILLed, busy or idle, loses nothing and duplicates nothing (RabbitMQ).

RabbitMQ requeues a consumer's unacknowledged deliveries as soon as its connection drops, and the
worker acknowledges a batch only after its rows are committed; the insert skips rows already stored.
"""

from __future__ import annotations

import random
import time
import uuid

import pytest
from celery import Celery

import celeryconfig
from tests.records import log_record
from tests.support import CeleryWorker, GunicornServer, free_port, new_vhost, wait_for
from tests.traffic import PredictTraffic, missing_after, start_two_versions, stored_for_model
from webapp.config import Settings
from webapp.logpipe.wire import encode_log_batch
from webapp.tasks import WRITE_BATCH_TASK

PREDICTIONS = 20_000
BATCH = 100
KILLS = 10


@pytest.fixture
def env(app, postgres_url: str, redis_url: str, broker_url: str, tmp_path) -> dict[str, str]:
    """Empty tables, and a broker virtual host of the test's own: the session's shared worker never sees it."""
    return {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": new_vhost(broker_url, "worker_fault"),
        "INSTANCE_DIR": str(tmp_path),
        "STATS_REFRESH_SECONDS": "3600",
    }


@pytest.mark.slow
def test_a_worker_killed_mid_ingest_loses_and_duplicates_nothing(postgres_url, env):
    publisher = Celery("fault-test")
    publisher.conf.update(celeryconfig.celery_settings(Settings.from_env(env)))
    model_id = str(uuid.uuid4())
    records = [log_record(model_id) for _ in range(PREDICTIONS)]
    for start in range(0, PREDICTIONS, BATCH):
        publisher.send_task(
            WRITE_BATCH_TASK, args=[encode_log_batch(records[start : start + BATCH])], serializer="msgpack"
        )

    worker = CeleryWorker(env)
    worker.start()
    try:
        wait_for(lambda: stored_for_model(postgres_url, model_id)[0] > 0, timeout=30, what="the first batches to land")
        worker.kill()  # the whole process group, mid-ingest: nothing acknowledged after this point
        landed_before_kill = stored_for_model(postgres_url, model_id)[0]
        assert landed_before_kill < PREDICTIONS, "the worker finished before it could be killed"

        worker = CeleryWorker(env)
        worker.start()
        wait_for(
            lambda: stored_for_model(postgres_url, model_id)[0] >= PREDICTIONS,
            timeout=60,
            what=f"all {PREDICTIONS} predictions after the restart ({landed_before_kill} before the kill)",
        )
        time.sleep(2)  # a batch redelivered late must still not duplicate
        assert stored_for_model(postgres_url, model_id) == (PREDICTIONS, PREDICTIONS), worker.tail()
    finally:
        worker.stop()


@pytest.mark.slow
def test_a_worker_killed_again_and_again_under_live_traffic_loses_no_answered_prediction(postgres_url, env):
    web, worker = GunicornServer(env, free_port()), CeleryWorker(env)
    web.start()
    rng = random.Random()
    try:
        start_two_versions(web.url)
        with PredictTraffic(web.url) as traffic:
            for _ in range(KILLS):
                worker.start()
                # Mostly idle between batches, so most kills land while it waits for the next one.
                time.sleep(rng.uniform(0.5, 4.0))
                worker.kill()
            worker.start()
            time.sleep(2)
        last_restart = time.monotonic()
        expected = traffic.answered_ids()
        assert len(expected) >= 1_000, "too little traffic to judge"
        missing = missing_after(postgres_url, expected, timeout=max(0.0, last_restart + 30 - time.monotonic()))
        assert not missing, f"{len(missing)} of {len(expected)} answered predictions lost after {KILLS} kills"
    finally:
        web.stop()
        worker.stop()
