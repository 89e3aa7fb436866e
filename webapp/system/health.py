"""Checks of the parts the service depends on, each with a short timeout."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import text

from ..config import Settings
from ..extensions import db
from ..failures.pipeline import ERRORS
from ..feedback.pipeline import FEEDBACK
from ..logpipe.buffer import LogBuffer
from ..logpipe.ingest import quarantine_summary
from ..logpipe.partitions import partition_health
from ..logpipe.spool import spool_backlog
from ..logpipe.streams import Stream
from ..logpipe.wire import PREDICTION_LOGS
from ..metrics.instruments import LOG_RECORDS, stream_counts
from ..stats.folds.outcomes import orphaned_feedback

Check = Callable[[], dict[str, Any]]

# What each broker promises for a batch it has taken (the README's Operations section says more).
BROKER_GUARANTEES = {
    "rabbitmq": "publisher confirms, durable quorum queue: no loss when a worker or the broker dies",
    "redis": "a worker killed while it waits for work can lose the batch it was being handed",
    "embedded": (
        "laptop default, kombu's SQLAlchemy transport on Postgres: a publish returns once its row is committed "
        "and queued batches survive a restart; a warm stop hands unacknowledged batches back, but a worker "
        "killed outright loses the batch it holds (no visibility timeout); one host, no replication"
    ),
}


def _timed(check: Check) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = {"status": "ok", **check()}
    except Exception as exc:  # noqa: BLE001  a health check reports failures, it does not raise them
        result = {"status": "down", "error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def _database(embedded: bool) -> dict[str, Any]:
    db.session.execute(text("SELECT 1"))
    db.session.rollback()
    dialect = db.engine.dialect
    return {
        "backend": dialect.name,
        "server_version": ".".join(str(part) for part in dialect.server_version_info or ()),
        "database": db.engine.url.database,
        # True: the PostgreSQL `make run` started under INSTANCE_DIR (DATABASE_URL unset).
        "embedded": embedded,
    }


def check_components(app: Flask) -> dict[str, dict[str, Any]]:
    """Database, cache and broker, each ok or down, plus the state of routing and log shipping."""
    redis_client = app.extensions.get("redis")
    celery = app.extensions["celery"]
    settings = app.extensions["settings"]
    broker_kind = settings.broker_kind
    connect_timeout = app.extensions["settings"].broker_timeout_seconds

    def cache() -> dict[str, Any]:
        if redis_client is None:
            return {"backend": "in-process"}
        redis_client.ping()
        return {"backend": "redis"}

    def broker() -> dict[str, Any]:
        with celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=connect_timeout)
        return {"kind": broker_kind, "guarantee": BROKER_GUARANTEES.get(broker_kind, "unknown broker")}

    return {
        "database": _timed(lambda: _database(settings.embedded)),
        "cache": _timed(cache),
        "broker": _timed(broker),
        "routing": app.extensions["router"].status(),
        "prediction_logs": {
            **_shipping(PREDICTION_LOGS, app.extensions["log_buffer"], settings),
            "quarantine": _timed(quarantine_summary),
            "partitions": _timed(partition_health),
        },
        "feedback": {
            **_shipping(FEEDBACK, app.extensions["feedback_buffer"], settings),
            **_timed(lambda: orphaned_feedback(settings.feedback_orphan_seconds)),
        },
        "errors": _shipping(ERRORS, app.extensions["error_buffer"], settings),
    }


def _shipping(stream: Stream, buffer: LogBuffer, settings: Settings) -> dict[str, Any]:
    """A stream's counts in this process and in every web process (Prometheus'), and its spool's backlog."""
    counts = stream_counts(stream.name)  # writes this process's pending updates first
    return {
        "this_process": {**buffer.status(), **_this_process_counts(stream.name)},
        "all_processes": counts,
        "spool_backlog": {**spool_backlog(stream.spool_dir(settings)), "damaged_lines": counts["damaged_lines"]},
    }


REQUIRED = ("database", "cache", "broker")


# What became of records after they left the buffer; "buffered" in this_process is what waits now.
SHIPPED_STATES = ("published", "spooled", "respooled_published", "dropped")


def _this_process_counts(stream: str) -> dict[str, int]:
    """This process's own `router_log_records_total` for `stream`: a metric's own samples are its
    process's values, in multiprocess mode too (the collector over the directory sums them all)."""
    counts = dict.fromkeys(SHIPPED_STATES, 0)
    for family in LOG_RECORDS.collect():
        for sample in family.samples:
            state = sample.labels.get("state")
            if sample.name == "router_log_records_total" and sample.labels.get("stream") == stream and state in counts:
                counts[state] += int(sample.value)
    return counts
