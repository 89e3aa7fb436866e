"""Celery tasks: thin, named, idempotent. The work lives in plain functions in `webapp`."""

from __future__ import annotations

import time
from typing import Any

from celery import shared_task
from flask import current_app

from webapp.failures.ingest import write_error_batch
from webapp.feedback.ingest import write_feedback_batch
from webapp.logpipe.ingest import write_prediction_log_batch
from webapp.logpipe.pacing import process_pacer
from webapp.metrics.instruments import observe_batch, observe_refresh
from webapp.rollouts.delivery import RETRY_DELIVERY, deliver, sweep_deliveries
from webapp.rollouts.evaluate import evaluate_all
from webapp.stats.refresh import refresh_stats
from webapp.system.retention import maintain_logs
from webapp.tasks import (
    DELIVER_WEBHOOKS_TASK,
    EVALUATE_ROLLOUTS_TASK,
    MAINTAIN_LOG_PARTITIONS_TASK,
    REFRESH_STATS_TASK,
    RETRY_WRITES,
    WRITE_BATCH_TASK,
    WRITE_ERRORS_TASK,
    WRITE_FEEDBACK_TASK,
)


@shared_task(name=WRITE_BATCH_TASK, **RETRY_WRITES)
def write_batch(payload: dict[str, Any] | str) -> dict[str, int]:
    """Store a batch of prediction logs (`webapp.logpipe.wire`); a redelivered batch inserts nothing twice."""
    started = time.perf_counter()
    result = write_prediction_log_batch(payload, pacer=process_pacer(current_app))
    observe_batch(result.inserted, result.rejected + result.quarantined, time.perf_counter() - started)
    return result.counts()


@shared_task(name=WRITE_FEEDBACK_TASK, **RETRY_WRITES)
def write_feedback(payload: dict[str, Any] | str) -> dict[str, int]:
    """Store a batch of feedback; the latest feedback per prediction wins, so redelivery is harmless."""
    return write_feedback_batch(payload).counts()


@shared_task(name=WRITE_ERRORS_TASK, **RETRY_WRITES)
def write_errors(payload: dict[str, Any] | str) -> dict[str, int]:
    """Store a batch of failed predictions; each has its own id, so redelivery inserts nothing twice."""
    return write_error_batch(payload).counts()


@shared_task(name=REFRESH_STATS_TASK)
def refresh() -> dict[str, Any]:
    """Fold newly committed prediction logs into model_stats."""
    result = refresh_stats()
    if not result.skipped:
        observe_refresh(result.rows, result.duration_ms / 1000)
    return result.as_dict()


@shared_task(name=EVALUATE_ROLLOUTS_TASK)
def evaluate_rollouts() -> list[dict[str, Any]]:
    """Refresh the statistics, then advance, hold, roll back or complete every active rollout."""
    target_n = current_app.extensions["settings"].sequential_target_n
    outcomes = evaluate_all(target_n, on_commit=current_app.extensions["router"].publish_from_database)
    return [outcome.__dict__ for outcome in outcomes]


@shared_task(name=MAINTAIN_LOG_PARTITIONS_TASK)
def maintain_log_partitions() -> dict[str, Any]:
    """Create the coming days' log partitions and drop those past retention."""
    settings = current_app.extensions["settings"]
    return maintain_logs(settings.log_partitions_ahead_days, settings.log_retention_days).as_dict()


@shared_task(name=DELIVER_WEBHOOKS_TASK, **RETRY_DELIVERY)
def deliver_webhooks(delivery_id: int | None = None) -> dict[str, Any]:
    """POST one rollout webhook delivery (retried with backoff); with no id, from beat: those no task has sent."""
    if delivery_id is None:
        return sweep_deliveries()
    return {"delivery_id": delivery_id, "status": deliver(delivery_id)}
