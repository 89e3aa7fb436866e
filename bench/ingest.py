"""200,000 log records through the worker's ingest task: published to Redis, written by a real worker."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import redis
from celery import Celery

import celeryconfig
from bench.benchdb import BENCH_REDIS_URL, postgres_connection
from bench.processes import ProcessGroup
from webapp.config import Settings
from webapp.logpipe.wire import encode_batch

BATCH = 500
TARGET_ROWS_PER_SECOND = 20_000
QUEUE, UNACKED = "celery", "unacked"  # kombu's Redis keys: waiting, and taken but not yet acknowledged


def _records(model_id: str, count: int) -> list[dict]:
    now = datetime.now(UTC).isoformat()
    return [
        {
            "prediction_id": str(uuid.uuid4()),
            "model_id": model_id,
            "model_version": "1.0.0",
            "user_id": f"user-{n % 5000}",
            "text": "The battery lasts all day and the screen is lovely.",
            "prediction": ("positive", "negative", "neutral")[n % 3],
            "confidence": round((n % 97) / 97, 4),
            "polarity": 0.5,
            "subjectivity": 0.6,
            "latency_ms": round(0.1 + (n % 50) / 100, 4),
            "routing": "sticky",
            "bucket": n % 100,
            "created_at": now,
        }
        for n in range(count)
    ]


def _stored(model_id: str) -> int:
    connection = postgres_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM prediction_logs WHERE model_id = %s", (model_id,))
            return cursor.fetchone()[0]
    finally:
        connection.close()


def measure(database_url: str, count: int, logs: Path) -> dict:
    """Queue every batch first, then time the worker from its first message to its last acknowledgement,
    so that neither publishing nor polling the table competes with the worker for the clock."""
    model_id = str(uuid.uuid4())
    records = _records(model_id, count)
    settings = Settings.from_env({}, DATABASE_URL=database_url, REDIS_URL=BENCH_REDIS_URL, INSTANCE_DIR=str(logs))
    publisher = Celery("ingest-bench")
    publisher.conf.update(celeryconfig.celery_settings(settings))
    broker = redis.Redis.from_url(settings.broker_url)
    for start in range(0, count, BATCH):
        publisher.send_task(celeryconfig.WRITE_BATCH_TASK, args=[encode_batch(records[start : start + BATCH])])
    queued = broker.llen(QUEUE)
    worker = ProcessGroup(
        "ingest",
        {"worker": ["celery", "-A", "worker", "worker", "--loglevel=WARNING"]},
        {"DATABASE_URL": database_url, "REDIS_URL": BENCH_REDIS_URL, "INSTANCE_DIR": str(logs / "instance")},
        logs,
    )
    worker.start()
    try:
        _wait(lambda: broker.llen(QUEUE) < queued, poll=0.001)  # the worker took its first batch
        started = time.monotonic()
        _wait(lambda: broker.llen(QUEUE) == 0 and broker.hlen(UNACKED) == 0, poll=0.01)
        elapsed = time.monotonic() - started
    finally:
        worker.stop()
    stored = _stored(model_id)
    rate = round(stored / elapsed)
    return {
        "records": count,
        "batch_size": BATCH,
        "stored": stored,
        "seconds": round(elapsed, 2),
        "rows_per_second": rate,
        "ok": stored == count and rate >= TARGET_ROWS_PER_SECOND,
    }


def _wait(condition, poll: float, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the ingest worker stopped making progress")
        time.sleep(poll)


def print_report(result: dict) -> None:
    print(
        f"\ningest: {result['stored']:,} of {result['records']:,} records through the worker task in "
        f"{result['seconds']} s, from its first batch to its last acknowledgement: "
        f"{result['rows_per_second']:,} rows/s (target >= {TARGET_ROWS_PER_SECOND:,})  "
        f"{'ok' if result['ok'] else 'BELOW TARGET'}"
    )
