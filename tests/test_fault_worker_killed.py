"""Fault: the Celery worker SIGKILLed mid-ingest loses nothing and duplicates nothing."""

from __future__ import annotations

import time
import uuid

import psycopg2
import pytest
from celery import Celery

import celeryconfig
from tests.records import log_record
from tests.support import CeleryWorker, empty_broker, wait_for
from webapp.config import Settings
from webapp.logpipe.wire import encode_batch

# A broker database of its own, so the session's shared worker never takes these batches.
FAULT_BROKER_DB = 12
VISIBILITY_SECONDS = 5
PREDICTIONS = 20_000
BATCH = 100


def stored(postgres_url: str, model_id: str) -> tuple[int, int]:
    """(rows, distinct prediction ids) stored for one model."""
    connection = psycopg2.connect(postgres_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), count(DISTINCT prediction_id) FROM prediction_logs WHERE model_id = %s", (model_id,)
            )
            return cursor.fetchone()
    finally:
        connection.close()


@pytest.mark.slow
def test_a_worker_killed_mid_ingest_loses_and_duplicates_nothing(app, postgres_url, redis_url, tmp_path):
    broker_url = empty_broker(redis_url, FAULT_BROKER_DB)
    env = {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": broker_url,
        "BROKER_VISIBILITY_TIMEOUT": str(VISIBILITY_SECONDS),
        "INSTANCE_DIR": str(tmp_path),
        "STATS_REFRESH_SECONDS": "3600",
    }
    publisher = Celery("fault-test")
    publisher.conf.update(celeryconfig.celery_settings(Settings.from_env(env)))
    model_id = str(uuid.uuid4())
    records = [log_record(model_id) for _ in range(PREDICTIONS)]
    for start in range(0, PREDICTIONS, BATCH):
        publisher.send_task(celeryconfig.WRITE_BATCH_TASK, args=[encode_batch(records[start : start + BATCH])])

    worker = CeleryWorker(env)
    worker.start()
    try:
        wait_for(lambda: stored(postgres_url, model_id)[0] > 0, timeout=30, what="the first batches to land")
        worker.kill()  # the whole process group, mid-ingest: nothing acknowledged after this point
        landed_before_kill = stored(postgres_url, model_id)[0]
        assert landed_before_kill < PREDICTIONS, "the worker finished before it could be killed"

        worker = CeleryWorker(env)
        worker.start()
        wait_for(
            lambda: stored(postgres_url, model_id)[0] >= PREDICTIONS,
            timeout=120,
            what=f"all {PREDICTIONS} predictions after the restart ({landed_before_kill} before the kill)",
        )
        time.sleep(VISIBILITY_SECONDS + 2)  # any batch redelivered late must still not duplicate
        rows, distinct = stored(postgres_url, model_id)
        assert (rows, distinct) == (PREDICTIONS, PREDICTIONS), worker.tail()
    finally:
        worker.stop()
