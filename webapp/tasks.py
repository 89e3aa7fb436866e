"""The tasks the web app hands to the worker: their stable names, and how far apart a failed write is retried.

The web app sends tasks by these names and never imports `worker`; `worker/tasks.py` registers its
tasks under them, and `celeryconfig.py` (settings only) schedules the periodic ones by them.
"""

from __future__ import annotations

import psycopg2
from sqlalchemy.exc import InterfaceError, OperationalError

WRITE_BATCH_TASK = "predictions.write_batch"
WRITE_FEEDBACK_TASK = "feedback.write_batch"
WRITE_ERRORS_TASK = "errors.write_batch"
REFRESH_STATS_TASK = "stats.refresh"
EVALUATE_ROLLOUTS_TASK = "rollouts.evaluate"
MAINTAIN_LOG_PARTITIONS_TASK = "logs.maintain_partitions"
DELIVER_WEBHOOKS_TASK = "rollouts.deliver_webhooks"
# How often beat sweeps the rollout webhook deliveries no task has sent (webapp/rollouts/delivery.py).
WEBHOOK_SWEEP_SECONDS = 30
# Longest wait between two retries of a write; BROKER_VISIBILITY_TIMEOUT is at least twice this.
MAX_RETRY_DELAY_SECONDS = 30
# The database unreachable, not the data bad: raw psycopg2 errors come from the COPY's own cursor.
UNREACHABLE = (OperationalError, InterfaceError, psycopg2.OperationalError, psycopg2.InterfaceError)
# The write tasks' Celery options: an outage delays a batch, never discards it. Celery retries it with
# exponential backoff and full jitter, at most MAX_RETRY_DELAY_SECONDS apart.
RETRY_WRITES = {
    "autoretry_for": UNREACHABLE,
    "retry_backoff": True,
    "retry_backoff_max": MAX_RETRY_DELAY_SECONDS,
    "retry_jitter": True,
    "max_retries": None,
}
