"""A row the database refuses costs only itself, in every stream: prediction logs, feedback and failures.

Validated rows that Postgres still refuses are made here with a CHECK constraint the test adds for
its own length: the stand-in for whatever a future schema or a bug lets through validation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from celery import Celery
from sqlalchemy import func, select, text

import celeryconfig
from tests.records import log_record
from tests.support import CeleryWorker, new_vhost, wait_for
from tests.traffic import sessions_where, stored_for_model
from webapp.config import Settings
from webapp.extensions import db
from webapp.failures.ingest import write_error_batch
from webapp.failures.models import PredictionError
from webapp.failures.pipeline import encode_error_batch, failure_record
from webapp.feedback.ingest import write_feedback_batch
from webapp.feedback.models import Feedback
from webapp.logpipe.wire import encode_feedback_batch, encode_log_batch
from webapp.models import QuarantinedBatch
from webapp.tasks import WRITE_BATCH_TASK


@contextmanager
def refused_by_the_database(table: str, check: str) -> Iterator[None]:
    """Postgres refuses rows of `table` that fail `check` while the block runs."""
    db.session.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT test_refuses CHECK ({check}) NOT VALID"))
    db.session.commit()
    try:
        yield
    finally:
        db.session.rollback()
        db.session.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT test_refuses"))
        db.session.commit()


def quarantined(kind: str) -> list[QuarantinedBatch]:
    db.session.expire_all()
    return list(db.session.scalars(select(QuarantinedBatch).where(QuarantinedBatch.kind == kind)))


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def feedback(reward: float, label: str | None = "positive") -> dict:
    return {
        "prediction_id": str(uuid.uuid4()),
        "label": label,
        "reward": reward,
        "received_at": datetime.now(UTC).isoformat(),
    }


def test_feedback_the_database_refuses_is_quarantined_alone_and_the_rest_stored(app):
    batch = [feedback(0.1), feedback(0.5), feedback(0.2), feedback(0.3, label="meh"), feedback(0.4)]
    payload = encode_feedback_batch(batch)
    with app.app_context(), refused_by_the_database("feedback", "reward IS NULL OR reward <> 0.5"):
        result = write_feedback_batch(payload)
        assert (result.received, result.inserted, result.rejected, result.quarantined) == (5, 3, 1, 1)
        assert count(Feedback) == 3
        entries = quarantined("feedback")
        reasons = " | ".join(entry.reason for entry in entries)
        assert len(entries) == 2 and "test_refuses" in reasons and "'positive', 'negative' or 'neutral'" in reasons
        assert {entry.payload[0] for entry in entries} == {batch[1]["prediction_id"], batch[3]["prediction_id"]}
        write_feedback_batch(payload)  # redelivered: each refused row is kept once
        assert len(quarantined("feedback")) == 2 and count(Feedback) == 3


def test_failures_the_database_refuses_are_quarantined_alone_and_the_rest_stored(app):
    model_id = str(uuid.uuid4())
    records = [failure_record(model_id, "1.0.0", "random", 3, status, RuntimeError()) for status in (500, 503, 502)]
    payload = encode_error_batch(records)
    with app.app_context(), refused_by_the_database("prediction_errors", "status <> 503"):
        result = write_error_batch(payload)
        assert (result.received, result.inserted, result.quarantined) == (3, 2, 1)
        assert count(PredictionError) == 2
        [entry] = quarantined("prediction_errors")
        assert entry.payload[0] == records[1]["error_id"] and "test_refuses" in entry.reason
        write_error_batch(payload)
        assert len(quarantined("prediction_errors")) == 1 and count(PredictionError) == 2


def isolating(postgres_url: str) -> bool:
    """Whether a backend is inside a batch's isolation: its last statement worked a savepoint."""
    return sessions_where(postgres_url, "state = 'idle in transaction' AND query LIKE '%SAVEPOINT isolate%'") > 0


@pytest.mark.slow
def test_a_worker_killed_mid_isolation_stores_each_row_once_after_redelivery(app, postgres_url, broker_url, tmp_path):
    env = {
        "DATABASE_URL": postgres_url,
        "CELERY_BROKER_URL": new_vhost(broker_url, "isolation_kill"),
        "INSTANCE_DIR": str(tmp_path),
        "STATS_REFRESH_SECONDS": "3600",
    }
    model_id = str(uuid.uuid4())
    # One row in three refused: a long bisection, so the kill lands inside it.
    batch = [log_record(model_id, user_id="9" * 300 if i % 3 == 0 else f"user-{i}") for i in range(3000)]
    poison = sum(1 for record in batch if len(record["user_id"]) > 256)
    publisher = Celery("isolation-test")
    publisher.conf.update(celeryconfig.celery_settings(Settings.from_env(env)))
    publisher.send_task(WRITE_BATCH_TASK, args=[encode_log_batch(batch)], serializer="msgpack")

    worker = CeleryWorker(env, concurrency=1)
    worker.start()
    try:
        wait_for(lambda: isolating(postgres_url), timeout=30, interval=0.02, what="the worker to start isolating")
        worker.kill()
        assert stored_for_model(postgres_url, model_id) == (0, 0), "the batch was committed before the kill"
        worker = CeleryWorker(env, concurrency=1)
        worker.start()
        good = len(batch) - poison
        wait_for(
            lambda: stored_for_model(postgres_url, model_id)[0] >= good,
            timeout=60,
            what=f"{good} rows after redelivery",
        )
        assert stored_for_model(postgres_url, model_id) == (good, good), worker.tail()
        with app.app_context():
            entries = quarantined("prediction_logs")
            assert len(entries) == poison and {entry.row_count for entry in entries} == {1}
    finally:
        worker.stop()
