"""Faults of the stats refresh: killed halfway, or two at once. model_stats stays a full recompute.

To catch a refresh halfway, the test locks model_stats: the refresh has taken its advisory lock and
read the new rows, and waits there to merge them.
"""

from __future__ import annotations

import threading
import uuid

import psycopg2
import pytest
from celery import Celery
from sqlalchemy import text

import celeryconfig
from tests.records import expected_totals, random_records, refresh_settled, stored_totals
from tests.support import CeleryWorker, new_vhost, wait_for
from webapp.config import Settings
from webapp.extensions import db
from webapp.logpipe.ingest import write_prediction_logs
from webapp.stats.refresh import RefreshResult, refresh_stats
from webapp.tasks import REFRESH_STATS_TASK


def lock_model_stats(postgres_url: str) -> psycopg2.extensions.connection:
    """Hold an exclusive lock on model_stats until the returned connection rolls back."""
    connection = psycopg2.connect(postgres_url)
    with connection.cursor() as cursor:
        cursor.execute("LOCK TABLE model_stats IN ACCESS EXCLUSIVE MODE")
    return connection


def count_of(postgres_url: str, query: str) -> int:
    """The single number a counting query returns."""
    connection = psycopg2.connect(postgres_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(query)
            return cursor.fetchone()[0]
    finally:
        connection.close()


WAITING_ON_A_LOCK = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
)
HOLDING_THE_REFRESH_LOCK = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"


@pytest.mark.slow
def test_a_refresh_killed_halfway_changes_nothing_and_the_next_is_exact(
    app, postgres_url, redis_url, broker_url, tmp_path
):
    model_id = str(uuid.uuid4())
    counted, new = random_records(model_id, 2_000, seed=11), random_records(model_id, 3_000, seed=12)
    with app.app_context():
        write_prediction_logs(counted)
        refresh_settled()  # every counted record inside the window, whatever else runs on this Postgres
        write_prediction_logs(new)
    # A queue of its own: the session's shared worker must not take this task.
    own_broker = new_vhost(broker_url, "stats_fault")
    env = {"DATABASE_URL": postgres_url, "REDIS_URL": redis_url, "CELERY_BROKER_URL": own_broker}
    worker = CeleryWorker({**env, "INSTANCE_DIR": str(tmp_path), "STATS_REFRESH_SECONDS": "3600"})
    worker.start()
    blocker = lock_model_stats(postgres_url)
    try:
        publisher = Celery("stats-fault-test")
        publisher.conf.update(celeryconfig.celery_settings(Settings.from_env(env)))
        publisher.send_task(REFRESH_STATS_TASK)
        wait_for(lambda: count_of(postgres_url, WAITING_ON_A_LOCK), timeout=30, what="the refresh to stop halfway")
        worker.kill()
    finally:
        blocker.rollback()
        blocker.close()
        worker.stop()
    # The orphaned transaction rolls back when Postgres finds its client gone.
    wait_for(lambda: not count_of(postgres_url, HOLDING_THE_REFRESH_LOCK), timeout=30, what="the refresh lock")
    with app.app_context():
        assert stored_totals(model_id) == expected_totals(counted)
        assert refresh_stats().rows == len(new)
        assert stored_totals(model_id) == expected_totals(counted + new)


def test_a_refresh_started_while_another_runs_skips_and_totals_stay_exact(app, postgres_url):
    model_id = str(uuid.uuid4())
    records = random_records(model_id, 3_000, seed=7)
    with app.app_context():
        write_prediction_logs(records)
    first: list[RefreshResult] = []

    def refresh_in_own_context() -> None:
        with app.app_context():
            first.append(refresh_stats())

    blocker = lock_model_stats(postgres_url)
    running = threading.Thread(target=refresh_in_own_context)
    try:
        running.start()
        wait_for(lambda: count_of(postgres_url, WAITING_ON_A_LOCK), timeout=30, what="the first refresh to block")
        with app.app_context():
            # Without the advisory lock this refresh would queue behind the first one: make that
            # a failure, not a hang.
            db.session.execute(text("SET LOCAL lock_timeout = '5s'"))
            assert refresh_stats().skipped
    finally:
        blocker.rollback()
        blocker.close()
        running.join(30)
    assert first[0].rows == len(records)
    with app.app_context():
        assert stored_totals(model_id) == expected_totals(records)
