"""200,000 log records through the worker's ingest task: queued on RabbitMQ, written by a real worker."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from celery import Celery
from kombu import Connection

import celeryconfig
from bench.benchdb import BENCH_BROKER_URL, BENCH_REDIS_URL, postgres_connection
from bench.processes import ProcessGroup
from webapp.config import Settings
from webapp.ids import new_uuid7
from webapp.logpipe.wire import encode_log_batch
from webapp.tasks import WRITE_BATCH_TASK

# What a web process ships at most per batch by default, so the figure is the one production sees.
BATCH = Settings.model_fields["log_batch_size"].default
TARGET_ROWS_PER_SECOND = 50_000
QUEUE = "celery"


def _records(model_id: str, count: int) -> list[dict]:
    now = datetime.now(UTC).isoformat()
    return [
        {
            "prediction_id": new_uuid7(),
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
    """Queue every batch first, then time the worker from its first batch written to its last, so that
    publishing does not compete with the worker for the clock."""
    model_id = str(uuid.uuid4())
    records = _records(model_id, count)
    environment = {
        "DATABASE_URL": database_url,
        "REDIS_URL": BENCH_REDIS_URL,
        "CELERY_BROKER_URL": BENCH_BROKER_URL,
        "INSTANCE_DIR": str(logs / "instance"),
    }
    publisher = Celery("ingest-bench")
    publisher.conf.update(celeryconfig.celery_settings(Settings.from_env(environment)))
    for start in range(0, count, BATCH):
        publisher.send_task(
            WRITE_BATCH_TASK, args=[encode_log_batch(records[start : start + BATCH])], serializer="msgpack"
        )
    queued = _waiting()
    command = ["celery", "-A", "worker", "worker", "--loglevel=WARNING"]
    worker = ProcessGroup("ingest", {"worker": command}, environment, logs)
    worker.start()
    try:
        _wait(lambda: _waiting() < queued, poll=0.001)  # the worker took its first batches
        started = time.monotonic()
        # The queue empties while the last prefetched batches are still being written: then count rows.
        _wait(lambda: _waiting() == 0, poll=0.01)
        _wait(lambda: _stored(model_id) >= count, poll=0.02)
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


def _waiting() -> int:
    """Batches ready in the task queue (not counting those delivered and not yet acknowledged)."""
    with Connection(BENCH_BROKER_URL) as connection:
        return connection.default_channel.queue_declare(QUEUE, passive=True).message_count


def _wait(condition, poll: float, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the ingest worker stopped making progress")
        time.sleep(poll)


def print_report(result: dict) -> None:
    print(
        f"\ningest: {result['stored']:,} of {result['records']:,} records through the worker task in "
        f"{result['seconds']} s, from its first batch to its last row: "
        f"{result['rows_per_second']:,} rows/s (target >= {TARGET_ROWS_PER_SECOND:,})  "
        f"{'ok' if result['ok'] else 'BELOW TARGET'}"
    )


def main() -> None:
    """Standalone: `python -m bench.ingest [records]`, on a freshly reset bench database."""
    import sys

    from bench.benchdb import reset_bench_services
    from bench.processes import ROOT

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    print_report(measure(reset_bench_services(), count, ROOT / "bench" / "results" / "logs"))


if __name__ == "__main__":
    main()
