"""The tasks the web app hands to the worker: their stable names, and how a failed write is retried.

The web app sends tasks by these names and never imports `worker`; `worker/tasks.py` registers its
tasks under them, and `celeryconfig.py` (settings only) schedules the periodic ones by them.
"""

from __future__ import annotations

from celery.utils.time import get_exponential_backoff_interval

WRITE_BATCH_TASK = "predictions.write_batch"
WRITE_FEEDBACK_TASK = "feedback.write_batch"
WRITE_ERRORS_TASK = "errors.write_batch"
REFRESH_STATS_TASK = "stats.refresh"
EVALUATE_ROLLOUTS_TASK = "rollouts.evaluate"
MAINTAIN_LOG_PARTITIONS_TASK = "logs.maintain_partitions"
MAX_RETRY_DELAY_SECONDS = 30


def retry_countdown(retries: int, visibility_timeout: float | None) -> int:
    """Seconds before retry number `retries + 1`: exponential with full jitter, at most 30 s and
    under half the visibility timeout, or the broker would hand the waiting retry to a second worker."""
    ceiling = MAX_RETRY_DELAY_SECONDS
    if visibility_timeout is not None:
        ceiling = max(1, min(ceiling, int(visibility_timeout) // 2))
    return get_exponential_backoff_interval(factor=1, retries=retries, maximum=ceiling, full_jitter=True)
