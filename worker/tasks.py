"""Celery tasks: thin, named, idempotent. The work lives in plain functions in `webapp`."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from sqlalchemy.exc import InterfaceError, OperationalError

from celeryconfig import REFRESH_STATS_TASK, WRITE_BATCH_TASK
from webapp.logpipe.ingest import write_prediction_log_batch
from webapp.stats.refresh import refresh_stats

# Retries wait at most this long, which stays under the broker's visibility timeout.
MAX_RETRY_DELAY_SECONDS = 30


@shared_task(
    name=WRITE_BATCH_TASK,
    autoretry_for=(OperationalError, InterfaceError),  # the database is unreachable, not the data bad
    retry_backoff=1,
    retry_backoff_max=MAX_RETRY_DELAY_SECONDS,
    retry_jitter=True,
    max_retries=None,  # a database outage delays logs; it never discards them
)
def write_batch(payload: str) -> dict[str, int]:
    """Store a batch of prediction logs (`webapp.logpipe.wire`); a redelivered batch inserts nothing twice."""
    result = write_prediction_log_batch(payload)
    return {"received": result.received, "inserted": result.inserted, "rejected": result.rejected}


@shared_task(name=REFRESH_STATS_TASK)
def refresh() -> dict[str, Any]:
    """Fold newly committed prediction logs into model_stats."""
    return refresh_stats().as_dict()
