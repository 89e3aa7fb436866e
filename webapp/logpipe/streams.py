"""Builds one shipping chain: in-process buffer → shipper → publisher (or spool while the broker is down)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from celery import Celery

from ..config import Settings
from ..metrics.instruments import count_spool_damaged
from ..tasks import WRITE_BATCH_TASK, WRITE_ERRORS_TASK, WRITE_FEEDBACK_TASK
from .buffer import LogBuffer
from .publisher import CeleryPublisher
from .shipper import Observe, Shipper
from .spool import Spool

# The `stream` label of a chain's metrics, by the task its batches travel as.
STREAMS = {WRITE_BATCH_TASK: "prediction_logs", WRITE_FEEDBACK_TASK: "feedback", WRITE_ERRORS_TASK: "errors"}


def shipping_buffer(
    celery: Celery,
    settings: Settings,
    *,
    directory: Path,
    task_name: str,
    encode: Callable[[list[Any]], Any],
    thread_name: str,
    encode_record: Callable[[dict[str, Any]], Any] | None = None,
    serializer: str = "json",
    observe: Observe | None = None,
) -> LogBuffer:
    """A buffer whose records travel as `task_name` batches, spooled and counted under `directory`.

    `encode_record` turns each record into its wire form as it is buffered; `encode` makes a batch
    of those into the task's argument.
    """
    publisher = CeleryPublisher(
        celery,
        settings.broker_timeout_seconds,
        settings.broker_confirm_timeout_seconds,
        task_name=task_name,
        serializer=serializer,
    )
    shipper = Shipper(
        publisher.publish,
        Spool(
            directory,
            settings.spool_max_records,
            settings.spool_max_bytes,
            on_damaged=partial(count_spool_damaged, STREAMS.get(task_name, task_name)),
        ),
        encode,
        observe=observe,
    )
    return LogBuffer(
        shipper,
        directory,
        settings.log_flush_seconds,
        settings.log_batch_size,
        name=thread_name,
        observe=observe,
        encode_record=encode_record,
    )
